import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { createStore } from '../../../src/store/index.ts';
import { startSayingChild } from './child.ts';

const SENDER = fileURLToPath(new URL('./store-kill-child.ts', import.meta.url));
const SMSC = fileURLToPath(new URL('./smsc-child.ts', import.meta.url));
const KILLS = 6;
const KEYS = 1500;
const EVENT_OF: Record<string, string> = {
  DELIVRD: 'delivered',
  UNDELIV: 'failed',
  EXPIRED: 'expired',
  REJECTD: 'rejected',
  ENROUTE: 'enroute',
};
const cleanups: (() => unknown)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

/** The simulator as a separate process: `ask('stats' | 'dump')` answers with its JSON. */
async function startSmsc(opts: Record<string, unknown>) {
  const child = spawn(process.execPath, ['--import', 'tsx', SMSC, JSON.stringify(opts)], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  cleanups.push(() => child.kill());
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const port = JSON.parse((await lines.next()).value as string).port as number;
  const ask = async (what: string): Promise<any> => {
    child.stdin!.write(`${what}\n`);
    return JSON.parse((await lines.next()).value as string);
  };
  return { port, ask };
}

const startSender = (env: Record<string, string>) => startSayingChild(SENDER, env);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test(`message_events holds every submit response and receipt state once across ${KILLS} SIGKILLs of a sender storing in chDB`, {
  timeout: 300_000,
}, async () => {
  const seed = Number(process.env.SEED ?? Date.now() % 100_000);
  let s = seed;
  const rnd = () => {
    s = (s * 16807) % 2147483647;
    return s / 2147483647;
  };
  const smsc = await startSmsc({
    latencyMs: 2,
    receiptDelayMs: 60,
    intermediateReceipts: true,
    receiptRetryMs: 200,
    outcomeMix: { delivered: 8, undeliverable: 1, expired: 1 },
  });
  const dir = await mkdtemp(join(tmpdir(), 'receipts-kill-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const env = { SMSC_PORT: String(smsc.port), DATA_DIR: dir, KEYS: String(KEYS) };
  const starts: any[] = [];
  for (let k = 0; k < KILLS; k++) {
    const run = startSender(env);
    starts.push(await run.said('bound'));
    const before = (await smsc.ask('stats')).received;
    const until = Date.now() + 10_000;
    while ((await smsc.ask('stats')).received === before && Date.now() < until) await sleep(5);
    // Mid-stream: submits in flight, receipts due, rows in the writer's 1 s buffer.
    await sleep(150 + rnd() * 900);
    run.child.kill('SIGKILL');
    await run.exited;
  }
  const last = startSender(env);
  starts.push(await last.said('bound'));
  const done = await last.said('done');
  // Receipts flow until every one the sender can place is answered; then a graceful stop.
  let prev = -1;
  for (let stable = 0; stable < 20; ) {
    const st = await smsc.ask('stats');
    stable = st.receiptsAcked === prev ? stable + 1 : 0;
    prev = st.receiptsAcked;
    await sleep(200);
  }
  last.child.kill('SIGTERM');
  await last.exited;
  const { submits, receipts } = await smsc.ask('dump');

  const store = await createStore({
    config: {
      user: 'default',
      password: '',
      database: 'kill_receipts',
      dataDir: dir,
      ttlDays: 30,
      minGroupSize: 1,
    },
    logger: pino({ level: 'silent' }),
  });
  cleanups.push(() => store.close());
  const db = store.database;
  const events = await store.query<{
    message_id: string;
    event: string;
    smsc: string;
    detail: string;
    n: string;
  }>(
    `SELECT message_id, event, smsc_message_id AS smsc, detail, count() AS n FROM ${db}.message_events
     GROUP BY message_id, event, smsc_message_id, detail`,
  );
  const messages = await store.query<{ key: string; status: string }>(
    `SELECT idempotency_key AS key, status FROM ${db}.messages FINAL`,
  );
  const ctx = `seed ${seed}`;

  const dupes = events.filter((e) => Number(e.n) > 1);
  assert.deepEqual(dupes.slice(0, 5), [], `${ctx}: ${dupes.length} events recorded more than once`);
  const perDest = new Map<string, number>();
  for (const x of submits) perDest.set(x.destination, (perDest.get(x.destination) ?? 0) + 1);
  assert.equal([...perDest.values()].filter((c) => c > 1).length, 0, `${ctx}: a key was submitted twice`);

  const statusOf = new Map(messages.map((m) => [m.key, m.status]));
  // Receipt events carry the receipt's (normalised) id: events are matched through the message.
  const byMessage = new Map<string, typeof events>();
  const messageOf = new Map<string, string>();
  for (const e of events) {
    const list = byMessage.get(e.message_id) ?? [];
    list.push(e);
    byMessage.set(e.message_id, list);
    if (e.event === 'submitted') {
      assert.ok(!messageOf.has(e.smsc), `${ctx}: two messages got SMSC id ${e.smsc}`);
      messageOf.set(e.smsc, e.message_id);
    }
  }
  const bySmsc = (id: string) => byMessage.get(messageOf.get(id) ?? '') ?? [];
  let accepted = 0;
  let unknown = 0;
  const known = new Set<string>();
  for (const x of submits) {
    if (x.status !== 0) continue;
    accepted++;
    const got = bySmsc(x.messageId).filter((e) => e.event === 'submitted');
    if (got.length === 1) {
      known.add(x.messageId);
      continue;
    }
    // The response was on its way when the sender died: recorded unknown, never resent.
    const key = `sid-${Number(x.destination) - 380670000000}|c1|enter`;
    assert.equal(statusOf.get(key), 'unknown', `${ctx}: accepted ${x.messageId} has no submitted event`);
    unknown++;
  }
  assert.ok(unknown <= KILLS * 20, `${ctx}: at most a window per kill is unknown (${unknown})`);

  let receiptStates = 0;
  for (const r of receipts as { messageId: string; stat: string; acked: boolean }[]) {
    if (!known.has(r.messageId)) continue;
    const recorded = bySmsc(r.messageId).filter((e) => e.event === EVENT_OF[r.stat]);
    if (r.stat === 'ENROUTE') {
      // An intermediate state redelivered after the final one is stale: recorded once at most.
      assert.ok(recorded.length <= 1, `${ctx}: ${r.messageId} ENROUTE`);
      continue;
    }
    assert.ok(r.acked, `${ctx}: the final receipt of ${r.messageId} was never answered`);
    assert.equal(recorded.length, 1, `${ctx}: ${r.messageId} ${r.stat} recorded ${recorded.length} times`);
    receiptStates++;
  }
  assert.equal(receiptStates, known.size, `${ctx}: every known message got its final state`);
  assert.ok(accepted > KEYS / 2, `${ctx}: ${accepted} accepted`);
  const replayed = starts.reduce((n, b) => n + b.rows, 0);
  console.log(
    `# ${ctx}: ${accepted} accepted (${unknown} unknown), ${receipts.length} receipts, ${replayed} unconfirmed rows found in the journal over ${KILLS} restarts, ${starts.reduce((n, b) => n + b.tracked, 0)} tracked messages restored; last run ${JSON.stringify(done)}`,
  );
});
