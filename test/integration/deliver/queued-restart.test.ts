import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createSmscSimulator, type SmscSimulator } from '../../../src/deliver/index.ts';
import { startSayingChild } from './child.ts';

const CHILD = fileURLToPath(new URL('./queue-child.ts', import.meta.url));
const KEYS = 60;
let sim: SmscSimulator;
const dirs: string[] = [];
before(async () => {
  sim = await createSmscSimulator({ recordSubmits: true, latencyMs: 3, receiptDelayMs: -1 });
});
after(async () => {
  await sim?.stop();
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const startChild = (env: Record<string, string>) => startSayingChild(CHILD, env);

/** Submits per destination since `from` (the simulator records every submit_sm). */
function submitsSince(from: number): Map<string, number> {
  const per = new Map<string, number>();
  for (const s of sim.stats.submits.slice(from)) per.set(s.destination, (per.get(s.destination) ?? 0) + 1);
  return per;
}

test('orders queued in a SIGKILLed sender are sent exactly once by the next start', {
  timeout: 60_000,
}, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'queued-'));
  dirs.push(dir);
  const from = sim.stats.submits.length;
  const env = { SMSC_PORT: String(sim.port), OUTBOX_DIR: dir, KEYS: String(KEYS) };
  const first = startChild({ ...env, TPS: '20' });
  const { queued } = await first.said('journaled');
  assert.ok(queued > KEYS / 2, `most orders wait in the queue (${queued})`);
  const until = Date.now() + 10_000;
  while (sim.stats.submits.length - from < 5 && Date.now() < until)
    await new Promise((r) => setTimeout(r, 5));
  first.child.kill('SIGKILL');
  await first.exited;
  const atKill = sim.stats.submits.length - from;
  assert.ok(atKill >= 5 && atKill < KEYS, `killed mid-queue (${atKill} submits)`);

  // The next start sends the same keys again (a redelivered batch): the journal answers duplicate.
  const second = startChild({ ...env, TPS: '0' });
  const bound = await second.said('bound');
  const done = await second.said('done');
  await second.exited;
  const unknown = new Set<string>(bound.unknown);
  assert.ok(unknown.size <= 2, `at most the look-ahead is in flight at the kill (${unknown.size})`);
  assert.deepEqual(done.sent, { duplicate: KEYS }, 'no key is handed to the SMSC again by a new send');
  assert.deepEqual(done.recovered, { submitted: bound.queued });

  const per = submitsSince(from);
  for (let i = 0; i < KEYS; i++) {
    const count = per.get(String(380660000000 + i)) ?? 0;
    if (unknown.has(`sid-${i}`)) assert.ok(count <= 1, `sid-${i} (unknown) submitted ${count} times`);
    else assert.equal(count, 1, `sid-${i} submitted ${count} times`);
  }
  // Every key is accounted for: submitted before the kill, queued and sent now, or journaled as
  // about to leave and never written (recorded unknown, not resent).
  const neverWritten = [...unknown].filter((sid) => !per.has(String(380660000000 + Number(sid.slice(4)))));
  assert.equal(atKill + bound.queued + neverWritten.length, KEYS);
  assert.equal(done.rows.unknown ?? 0, unknown.size, 'in-flight messages are recorded unknown');
  // Rows of messages settled just before the kill (maybe lost in a writer's buffer) are written again.
  const settledBeforeKill = atKill - (unknown.size - neverWritten.length);
  assert.equal(done.rows.submitted, bound.queued + settledBeforeKill);
});

test('orders still queued at a graceful shutdown stay journaled and the next start sends them', {
  timeout: 60_000,
}, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'queued-'));
  dirs.push(dir);
  const from = sim.stats.submits.length;
  const env = { SMSC_PORT: String(sim.port), OUTBOX_DIR: dir, KEYS: String(KEYS) };
  const first = startChild({ ...env, TPS: '20' });
  await first.said('journaled');
  while (sim.stats.submits.length - from < 5) await new Promise((r) => setTimeout(r, 5));
  first.child.kill('SIGTERM');
  const stopped = await first.said('done');
  await first.exited;
  const atStop = sim.stats.submits.length - from;
  // What left before the stop was submitted, or unknown when its response was cut off by the close.
  assert.equal((stopped.sent.submitted ?? 0) + (stopped.sent.unknown ?? 0), atStop);
  assert.equal(stopped.sent.queued, KEYS - atStop, 'the rest is reported queued');
  assert.equal(stopped.rows.queued, KEYS - atStop, 'with a queued messages row each');

  const second = startChild({ ...env, TPS: '0' });
  const bound = await second.said('bound');
  const done = await second.said('done');
  await second.exited;
  assert.deepEqual(bound, { unknown: [], queued: KEYS - atStop });
  assert.deepEqual(done.recovered, { submitted: KEYS - atStop });
  const per = submitsSince(from);
  assert.equal(per.size, KEYS);
  for (const [number, count] of per) assert.equal(count, 1, `${number} submitted ${count} times`);
});
