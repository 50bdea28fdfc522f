// npm run bench:deliver — (a) unthrottled submits/s with window 50 against the simulator on loopback,
// without a sink and with the store sink (BENCH_STORE=0 skips it), the bare `smpp` package client as
// the baseline; (b) rate accuracy: 200 TPS over 4 binds for
// 60 s (BENCH_RATE_SEC) against a simulator throttling at exactly 200/s. BENCH_ONLY=a|b runs one part.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import smpp from 'smpp';
import {
  createDirectory,
  createSmppSender,
  eventKey,
  type OutboundSms,
  openOutbox,
  type SmscSimulatorOptions,
  smppAccount,
} from '../src/deliver/index.ts';
import { createStore, createWriter, storedEventIds } from '../src/store/index.ts';

const N = Number(process.env.BENCH_N ?? 30_000);
const RATE_SEC = Number(process.env.BENCH_RATE_SEC ?? 60);
const SIM = fileURLToPath(new URL('./lib/smsc-process.ts', import.meta.url));
const logger = pino({ level: 'silent' });

interface SimProc {
  port: number;
  stats(): Promise<Record<string, number>>;
  stop(): void;
}

async function startSim(opts: SmscSimulatorOptions): Promise<SimProc> {
  // BENCH_PROF_DIR: the simulator writes a CPU profile there too (run the bench with --cpu-prof).
  const prof = process.env.BENCH_PROF_DIR
    ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROF_DIR}`]
    : [];
  const child: ChildProcess = spawn(
    process.execPath,
    [...prof, '--import', 'tsx', SIM, JSON.stringify(opts)],
    {
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
  const rl = createInterface({ input: child.stdout! });
  const it = rl[Symbol.asyncIterator]();
  const first = await it.next();
  const port = JSON.parse(first.value as string).port as number;
  return {
    port,
    async stats() {
      child.stdin!.write('stats\n');
      return JSON.parse((await it.next()).value as string);
    },
    stop() {
      // Closing stdin ends the simulator (and writes its profile); a kill follows if it does not.
      child.stdin!.end();
      setTimeout(() => child.kill(), 2000).unref();
    },
  };
}

/** CPU time (user + system) of this process per message, in µs: unlike the rate, it hardly depends on load. */
function cpuPer(u: NodeJS.CpuUsage, count: number): number {
  return (u.user + u.system) / count;
}

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

const phones: [string, string][] = Array.from({ length: N }, (_, i) => [
  `sid-${i}`,
  String(380500000000 + i),
]);
const sms = (i: number, run: string): OutboundSms => ({
  idempotencyKey: `${run}|${i}|c1|enter`,
  sid: `sid-${i % N}`,
  campaignId: 'c1',
  fenceId: 'f1',
  senderId: 'Shop',
  text: `You're 200 m from Store ${i % 97} - 15% off today with code K7Q2`,
});

/** Feeds `send` keeping `pending` messages handed over; returns per-message latencies (ms). */
async function drive(
  send: (m: OutboundSms) => Promise<{ status: string }>,
  run: string,
  count: number,
  pending: number,
) {
  const lat: number[] = [];
  const statuses: Record<string, number> = {};
  let next = 0;
  await Promise.all(
    Array.from({ length: pending }, async () => {
      while (next < count) {
        const i = next++;
        const t = performance.now();
        const r = await send(sms(i, run));
        lat.push(performance.now() - t);
        statuses[r.status] = (statuses[r.status] ?? 0) + 1;
      }
    }),
  );
  return { lat: lat.sort((a, b) => a - b), statuses };
}

async function baselineSmppPackage(
  port: number,
  count: number,
  window: number,
): Promise<{ rate: number; cpuUs: number }> {
  const session = smpp.connect({ host: '127.0.0.1', port });
  await new Promise<void>((resolve) => session.on('connect', resolve));
  await new Promise<void>((resolve) =>
    session.bind_transceiver({ system_id: 'base', password: '' }, () => resolve()),
  );
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  let sent = 0;
  let done = 0;
  await new Promise<void>((resolve) => {
    const pump = () => {
      while (sent < count && sent - done < window) {
        const i = sent++;
        session.submit_sm(
          {
            source_addr_ton: 5,
            source_addr: 'Shop',
            dest_addr_ton: 1,
            dest_addr_npi: 1,
            destination_addr: phones[i % N][1],
            data_coding: 0,
            short_message: Buffer.from(`You're 200 m from Store ${i % 97} - 15% off today with code K7Q2`),
          },
          () => {
            done++;
            if (done === count) resolve();
            else pump();
          },
        );
      }
    };
    pump();
  });
  const rate = count / ((performance.now() - t0) / 1000);
  const cpuUs = cpuPer(process.cpuUsage(c0), count);
  session.destroy();
  return { rate, cpuUs };
}

console.log(
  `# deliver benchmark — node ${process.version} (GLIBC_TUNABLES=${process.env.GLIBC_TUNABLES ?? ''}), ${cpus().length} cpus, load ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);

const ONLY = process.env.BENCH_ONLY ?? 'ab';

// (a) unthrottled
if (ONLY.includes('a')) {
  const sim = await startSim({ tps: 0, latencyMs: 0, receiptDelayMs: -1 });
  console.log(
    `\n(a) unthrottled: ${N} single-part GSM messages, 1 bind, window 50, outbox journal with fdatasync`,
  );
  /** One sender run; `withStore` adds the service's sink: embedded chDB through the writer, rows journaled until confirmed. */
  const runSender = async (label: string, run: string, withStore: boolean) => {
    const dir = await mkdtemp(join(tmpdir(), 'bench-deliver-'));
    const outbox = await openOutbox({ dir, logger });
    const store = withStore
      ? await createStore({
          config: {
            user: 'default',
            password: '',
            database: 'bench_deliver',
            dataDir: dir,
            ttlDays: 30,
            minGroupSize: 1,
          },
          logger,
        })
      : undefined;
    const writer = store ? createWriter({ store, logger, spillDir: join(dir, 'spill') }) : undefined;
    const sender = createSmppSender({
      accounts: [smppAccount({ port: sim.port, systemId: 'bench', binds: 1, tps: 0, window: 50 })],
      logger,
      directory: createDirectory(phones),
      outbox,
      sink:
        store && writer
          ? {
              write: (table, row) => void writer.write(table, row),
              durable: () => writer.durable(),
              eventKeys: async (ids) => new Set((await storedEventIds(store, ids)).map(eventKey)),
            }
          : undefined,
    });
    while (sender.status().accounts[0].bound < 1) await new Promise((r) => setTimeout(r, 5));
    await drive(sender.send, `warm-${run}`, 2000, 200);
    const sim0 = (await sim.stats()).cpuUs;
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    const { lat, statuses } = await drive(sender.send, run, N, 500);
    const sec = (performance.now() - t0) / 1000;
    const cpu = cpuPer(process.cpuUsage(c0), N);
    const simCpu = ((await sim.stats()).cpuUs - sim0) / N;
    console.log(
      `  ${label}: ${(N / sec).toFixed(0)} submits/s  (send() latency p50 ${pct(lat, 50).toFixed(1)} ms, p99 ${pct(lat, 99).toFixed(1)} ms; CPU ${cpu.toFixed(0)} µs/message, simulator ${simCpu.toFixed(0)} µs/submit)  ${JSON.stringify(statuses)}`,
    );
    await sender.close();
    await writer?.close();
    await outbox.close();
    await store?.close();
    await rm(dir, { recursive: true, force: true });
  };
  await runSender('geotrigger sender', 'a', false);
  if (process.env.BENCH_STORE !== '0')
    await runSender('same, with the store sink (chDB writer in-process, rows journaled)', 'a-store', true);
  const simB = (await sim.stats()).cpuUs;
  const base = await baselineSmppPackage(sim.port, N, 50);
  const simBase = ((await sim.stats()).cpuUs - simB) / N;
  console.log(
    `  baseline, bare smpp package session (no outbox, no rate limit, window 50): ${base.rate.toFixed(0)} submits/s (CPU ${base.cpuUs.toFixed(0)} µs/message, simulator ${simBase.toFixed(0)} µs/submit)`,
  );
  sim.stop();
}

// (b) rate accuracy
if (ONLY.includes('b')) {
  const tps = 200;
  const sim = await startSim({ tps, latencyMs: 2, receiptDelayMs: -1 });
  const dir = await mkdtemp(join(tmpdir(), 'bench-deliver-'));
  const outbox = await openOutbox({ dir, logger });
  const sender = createSmppSender({
    accounts: [smppAccount({ port: sim.port, systemId: 'bench', binds: 4, tps: tps / 4, window: 10 })],
    logger,
    directory: createDirectory(phones),
    outbox,
  });
  while (sender.status().accounts[0].bound < 4) await new Promise((r) => setTimeout(r, 5));
  console.log(
    `\n(b) rate accuracy: ${tps} TPS configured over 4 binds (${tps / 4}/bind), simulator throttles at ${tps}/s (burst ${tps / 10}), ${RATE_SEC} s`,
  );
  const s0 = await sim.stats();
  const t0 = performance.now();
  let stop = false;
  const count = tps * RATE_SEC * 2;
  const feeding = drive(
    (m) => (stop ? Promise.resolve({ status: 'skipped' }) : sender.send(m)),
    'b',
    count,
    400,
  );
  await new Promise((r) => setTimeout(r, RATE_SEC * 1000));
  const s1 = await sim.stats();
  const sec = (performance.now() - t0) / 1000;
  stop = true;
  const accepted = s1.accepted - s0.accepted;
  const received = s1.received - s0.received;
  const throttled = s1.throttled - s0.throttled;
  console.log(
    `  achieved ${(accepted / sec).toFixed(1)} accepted/s = ${((100 * accepted) / sec / tps).toFixed(2)}% of ${tps}`,
  );
  console.log(
    `  throttled responses ${throttled} of ${received} submits = ${((100 * throttled) / Math.max(1, received)).toFixed(3)}%`,
  );
  await sender.close();
  await feeding;
  await outbox.close();
  await rm(dir, { recursive: true, force: true });
  sim.stop();
}
console.log(
  `\nload after: ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
process.exit(0);
