// A sending process holding a slow queue, for the queued-orders restart test: binds, sends what the
// previous run left queued, hands over every key at once and says when they are journaled. SIGTERM
// closes it gracefully; the parent SIGKILLs it at other times.
import pino from 'pino';
import { createDirectory, createSmppSender, openOutbox, smppAccount } from '../../../src/deliver/index.ts';

const port = Number(process.env.SMSC_PORT);
const dir = String(process.env.OUTBOX_DIR);
const n = Number(process.env.KEYS);
const tps = Number(process.env.TPS ?? 0);
const logger = pino({ level: 'silent' });
const outbox = await openOutbox({ dir, logger });
const phones: [string, string][] = Array.from({ length: n }, (_, i) => [
  `sid-${i}`,
  String(380660000000 + i),
]);
const rows: Record<string, number> = {};
const sender = createSmppSender({
  accounts: [smppAccount({ port, systemId: 'queue', tps, window: 1, responseTimeoutMs: 2000 })],
  logger,
  directory: createDirectory(phones),
  outbox,
  sink: {
    write(table, row) {
      if (table === 'messages') rows[String(row.status)] = (rows[String(row.status)] ?? 0) + 1;
    },
    // A store that never confirms: every row stays journaled, as if the writer's buffer died with us.
    durable: () => new Promise<void>(() => undefined),
  },
});
const say = (what: string, body: unknown) => process.stdout.write(`${what} ${JSON.stringify(body)}\n`);
while (sender.status().accounts[0].bound === 0) await new Promise((r) => setTimeout(r, 2));
say('bound', { unknown: outbox.recovered.map((i) => i.sid), queued: outbox.recoveredQueued.length });
let closing: Promise<void> | undefined;
const close = () => {
  closing ??= (async () => {
    await sender.close();
    await outbox.close();
  })();
  return closing;
};
process.once('SIGTERM', () => void close());

const recovered = sender.recover();
const sends = phones.map(([sid], i) =>
  sender.send({
    idempotencyKey: `${sid}|c1|enter`,
    messageId: `m-${i}`,
    sid,
    campaignId: 'c1',
    fenceId: 'f1',
    senderId: 'Shop',
    text: `Offer ${i}`,
  }),
);
await sender.journaled();
say('journaled', { queued: sender.status().accounts[0].queued });
const tally = (rs: { status: string }[]) => {
  const out: Record<string, number> = {};
  for (const r of rs) out[r.status] = (out[r.status] ?? 0) + 1;
  return out;
};
const [again, fresh] = await Promise.all([recovered, Promise.all(sends)]);
say('done', { recovered: tally(again), sent: tally(fresh), rows });
await close();
process.exit(0);
