import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createSmscSimulator, type SmscSimulator } from '../../../src/deliver/index.ts';

const CHILD = fileURLToPath(new URL('./kill-child.ts', import.meta.url));
const KILLS = 50;
// Enough keys that none run out before the last kill (each run uses ~25 submits and ~10 intents).
const KEYS = 3000;
let sim: SmscSimulator | undefined;
let dir = '';
after(async () => {
  await sim?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

function startChild(env: Record<string, string>): {
  child: ChildProcess;
  lines: string[];
  bound: Promise<void>;
} {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines: string[] = [];
  const bound = new Promise<void>((resolve, reject) => {
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (d: string) => {
      lines.push(...d.trim().split('\n'));
      if (lines.some((l) => l.startsWith('bound'))) resolve();
    });
    child.once('exit', () => reject(new Error('child exited before binding')));
  });
  bound.catch(() => undefined);
  return { child, lines, bound };
}

const exited = (c: ChildProcess) =>
  new Promise<void>((r) => (c.exitCode !== null || c.signalCode !== null ? r() : c.once('exit', () => r())));

test(`no idempotency key is submitted twice across ${KILLS} SIGKILLs of the sending process`, {
  timeout: 300_000,
}, async () => {
  const seed = Number(process.env.SEED ?? Date.now() % 100_000);
  let s = seed;
  const rnd = () => {
    s = (s * 16807) % 2147483647;
    return s / 2147483647;
  };
  sim = await createSmscSimulator({ recordSubmits: true, latencyMs: 3, receiptDelayMs: -1 });
  dir = await mkdtemp(join(tmpdir(), 'sigkill-'));
  const env = { SMSC_PORT: String(sim.port), OUTBOX_DIR: dir, KEYS: String(KEYS) };
  let killedMidSend = 0;
  for (let k = 0; k < KILLS; k++) {
    const { child, bound } = startChild(env);
    await bound;
    const before = sim.stats.received;
    // Kill at a random moment once the child is submitting (while parts are in flight).
    const start = Date.now();
    // A loaded machine can take seconds to get a fresh process submitting: wait for it (bounded).
    while (sim.stats.received === before && Date.now() - start < 20_000)
      await new Promise((r) => setTimeout(r, 2));
    await new Promise((r) => setTimeout(r, rnd() * 250));
    const atKill = sim.stats.received;
    child.kill('SIGKILL');
    await exited(child);
    if (atKill > before) killedMidSend++;
  }
  const last = startChild(env);
  await last.bound;
  await exited(last.child);
  const done = last.lines.find((l) => l.startsWith('done'));
  assert.ok(done, `seed ${seed}: the last run finished`);

  const perKey = new Map<string, number>();
  for (const sub of sim.stats.submits) perKey.set(sub.destination, (perKey.get(sub.destination) ?? 0) + 1);
  const dupes = [...perKey].filter(([, c]) => c > 1);
  assert.equal(dupes.length, 0, `seed ${seed}: duplicate submits for ${dupes.length} keys`);
  assert.equal(perKey.size, sim.stats.received, `seed ${seed}`);
  assert.ok(killedMidSend >= KILLS - 2, `seed ${seed}: only ${killedMidSend} kills hit a sending process`);
  // Every key was either submitted once or recorded unknown/duplicate; none is lost silently.
  assert.ok(perKey.size <= KEYS);
  console.log(
    `# seed ${seed}: ${sim.stats.received} submits for ${perKey.size} keys, ${killedMidSend}/${KILLS} kills mid-send; last run ${done}`,
  );
});
