import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import {
  createDirectory,
  createSmppSender,
  createSmscSimulator,
  type OutboundSms,
  openOutbox,
  type Sender,
  type SmppAccountInput,
  type SmppSenderOptions,
  type SmscSimulator,
  type SmscSimulatorOptions,
  smppAccount,
} from '../../../src/deliver/index.ts';

export interface Rig {
  sim: SmscSimulator;
  sender: Sender;
  rows: { table: string; row: Record<string, any> }[];
  optOuts: { sid: string; keyword: string }[];
  replies: string[];
  close(): Promise<void>;
}

export const PHONES: [string, string][] = Array.from({ length: 200 }, (_, i) => [
  `sid-${i}`,
  `38050${String(1000000 + i)}`,
]);

/** A simulator plus a sender bound to it, with fast timers for tests. */
export async function startRig(
  simOpts: SmscSimulatorOptions = {},
  account: Partial<SmppAccountInput> = {},
  senderOpts: Partial<SmppSenderOptions> = {},
): Promise<Rig> {
  const sim = await createSmscSimulator({ recordSubmits: true, receiptDelayMs: 5, ...simOpts });
  const dir = await mkdtemp(join(tmpdir(), 'deliver-'));
  const logger = pino({ level: process.env.TEST_LOG ?? 'silent' });
  const outbox = await openOutbox({ dir, logger });
  const rows: Rig['rows'] = [];
  const optOuts: Rig['optOuts'] = [];
  const replies: string[] = [];
  const sender = createSmppSender({
    accounts: [
      smppAccount({
        port: sim.port,
        systemId: 'geo',
        tps: 0,
        window: 20,
        responseTimeoutMs: 300,
        reconnectMinMs: 50,
        reconnectMaxMs: 200,
        throttleBackoffMs: 50,
        ...account,
      }),
    ],
    logger,
    directory: createDirectory(PHONES),
    outbox,
    sink: { write: (table, row) => rows.push({ table, row }) },
    mo: {
      onOptOut: (sid, keyword) => optOuts.push({ sid, keyword }),
      onReply: (mo) => replies.push(mo.text),
    },
    ...senderOpts,
  });
  return {
    sim,
    sender,
    rows,
    optOuts,
    replies,
    async close() {
      await sender.close();
      await outbox.close();
      await sim.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export function buildSms(i: number, over: Partial<OutboundSms> = {}): OutboundSms {
  return {
    idempotencyKey: `sid-${i}|camp-1|enter`,
    sid: `sid-${i}`,
    campaignId: 'camp-1',
    fenceId: 'fence-1',
    senderId: 'Shop',
    text: `Hello ${i}: 15% off today with code K7Q2`,
    ...over,
  };
}

export async function until(cond: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export async function bound(rig: Rig): Promise<void> {
  await until(() => rig.sender.status().accounts.every((a) => a.bound === a.binds), 5000, 'binds');
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
