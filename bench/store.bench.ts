import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../src/logger.ts';
import { createReports, createStore, createWriter, type DecisionRow } from '../src/store/index.ts';
import { createDecisionGen } from './lib/decisions-gen.ts';

// Decision rows through the writer into embedded ClickHouse, then the campaign report over 10M decisions.
const WRITER_ROWS = Number(process.env.BENCH_WRITER_ROWS ?? 2_000_000);
const BASELINE_ROWS = Number(process.env.BENCH_BASELINE_ROWS ?? 500_000);
const REPORT_ROWS = Number(process.env.BENCH_REPORT_ROWS ?? 10_000_000);
const QUERY_RUNS = Number(process.env.BENCH_QUERY_RUNS ?? 60);
const SEED = 42;
const CAMPAIGNS = 200;
const STORES = 2_000;
const STORES_PER_CAMPAIGN = 10;
const SUBSCRIBERS = 1_000_000;
const DAY_MS = 86_400_000;
const SPAN_MS = 30 * DAY_MS;
const FROM_MS = Math.floor(Date.now() / DAY_MS) * DAY_MS - SPAN_MS;

const log = (s: string) => console.log(s);
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

const dir = await mkdtemp(join(tmpdir(), 'bench-store-'));
const logger = createLogger({ level: 'warn' });
const store = await createStore({
  config: { user: 'default', password: '', database: 'bench', dataDir: dir, ttlDays: 180, minGroupSize: 10 },
  logger,
});
const genOpts = {
  seed: SEED,
  campaigns: CAMPAIGNS,
  stores: STORES,
  storesPerCampaign: STORES_PER_CAMPAIGN,
  subscribers: SUBSCRIBERS,
  fromMs: FROM_MS,
  spanMs: SPAN_MS,
};

log('store bench — embedded ClickHouse (chDB) through @clickhouse/client');
log(
  `node ${process.version}, ${cpus().length} cpus (${cpus()[0]?.model}), ${Math.round(totalmem() / 2 ** 30)} GiB`,
);
log(
  `load average at start: ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
log(
  `params: writer rows ${fmt(WRITER_ROWS)}, baseline rows ${fmt(BASELINE_ROWS)}, report rows ${fmt(REPORT_ROWS)}, ` +
    `${CAMPAIGNS} campaigns × ${STORES_PER_CAMPAIGN} stores, ${fmt(SUBSCRIBERS)} subscribers, 30 days, seed ${SEED}`,
);
log(
  'decisions feed 2 materialized views on every insert: report_hourly (per store), report_suppressed_hourly (per campaign)',
);

try {
  // Baseline 1: validation + CSV encoding alone (no I/O), the writer's CPU cost per row.
  {
    const gen = createDecisionGen(genOpts);
    const { compileRowCodec } = await import('../src/store/row-codec.ts');
    const codec = compileRowCodec('decisions', store.columns('decisions')!);
    // Into one reused 50 k-row chunk, as the writer does (encodeInto, no string per row).
    const sink = { buf: Buffer.allocUnsafe(8 << 20), size: 0 };
    const t0 = performance.now();
    let bytes = 0;
    for (let i = 0; i < BASELINE_ROWS; i++) {
      codec.encodeInto(gen.next(), sink);
      if ((i + 1) % 50_000 === 0) {
        bytes += sink.size;
        sink.size = 0;
      }
    }
    bytes += sink.size;
    const s = (performance.now() - t0) / 1000;
    log(
      `baseline  validate+encode only:        ${fmt(BASELINE_ROWS / s)} rows/s (${(bytes / BASELINE_ROWS).toFixed(0)} B/row)`,
    );
  }

  // Baseline 2: the client's own JSONEachRow insert in 20k-row batches, no writer, no validation.
  {
    const gen = createDecisionGen({ ...genOpts, seed: SEED + 1 });
    const t0 = performance.now();
    for (let done = 0; done < BASELINE_ROWS; done += 20_000) {
      const batch: DecisionRow[] = [];
      for (let i = 0; i < 20_000; i++) batch.push({ ...gen.next() });
      await store.insert('decisions', batch);
    }
    const s = (performance.now() - t0) / 1000;
    log(`baseline  client.insert JSONEachRow:   ${fmt(BASELINE_ROWS / s)} rows/s`);
  }

  // Baseline 3: the same CSV path with batches encoded up front, no writer: the engine's insert ceiling.
  {
    const gen = createDecisionGen({ ...genOpts, seed: SEED + 3 });
    const { compileRowCodec } = await import('../src/store/row-codec.ts');
    const codec = compileRowCodec('decisions', store.columns('decisions')!);
    const bodies: Buffer[] = [];
    for (let done = 0; done < BASELINE_ROWS; done += 50_000) {
      const sink = { buf: Buffer.allocUnsafe(8 << 20), size: 0 };
      for (let i = 0; i < 50_000; i++) codec.encodeInto(gen.next(), sink);
      bodies.push(sink.buf.subarray(0, sink.size));
    }
    const t0 = performance.now();
    for (const [i, body] of bodies.entries())
      await store.insertCsv('decisions', codec.columns, body, `bench-${i}`);
    const s = (performance.now() - t0) / 1000;
    log(
      `baseline  insertCsv, pre-encoded 50k:  ${fmt((bodies.length * 50_000) / s)} rows/s (ClickHouse parse + write + views only)`,
    );
  }

  // The writer: one row at a time, as stages hand them over, awaiting only when it pushes back. Twice:
  // rows in live order (timestamps advancing at the rate they are written, as in production: a batch
  // falls into one or two report hours), and rows spread at random over 30 days (the worst case: nearly
  // every row feeds its own report_hourly cell through the materialized views).
  for (const mode of ['live order', 'random over 30 days'] as const) {
    // Start from a store with no merges running: the parts the earlier phases wrote (1.5 M rows in
    // small batches) would otherwise be merged during this phase and charged to it. Its own merges,
    // while it runs, still count.
    const settle0 = performance.now();
    while (performance.now() - settle0 < 60_000) {
      const [m] = await store.query<{ n: number }>(
        "SELECT count() AS n FROM system.merges WHERE database = 'bench'",
      );
      if (Number(m.n) === 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    log(`settle     background merges of earlier phases finished in ${fmt(performance.now() - settle0)} ms`);
    const gen = createDecisionGen({
      ...genOpts,
      seed: SEED + 2,
      fromMs: mode === 'live order' ? FROM_MS + SPAN_MS - 3_600_000 : FROM_MS,
      liveRowsPerSec: mode === 'live order' ? 200_000 : undefined,
    });
    const writer = createWriter({
      store,
      logger,
      spillDir: join(dir, 'spill'),
      batchRows: Number(process.env.BENCH_BATCH_ROWS ?? 50_000),
      flushMs: 1000,
      // Unset: the writer's default.
      maxInflight: process.env.BENCH_MAX_INFLIGHT ? Number(process.env.BENCH_MAX_INFLIGHT) : undefined,
    });
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    let waits = 0;
    for (let i = 0; i < WRITER_ROWS / 2; i++) {
      const w = writer.write('decisions', gen.next());
      if (w) {
        waits++;
        await w;
      }
    }
    await writer.flush();
    const s = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const st = writer.stats();
    await writer.close();
    // CPU of the whole process (JS, chDB's insert and merge threads): steadier than rows/s on a shared machine.
    log(
      `writer    write()→flush, ${fmt(Number(process.env.BENCH_BATCH_ROWS ?? 50_000))}-row batches, ${mode}:  ${fmt(WRITER_ROWS / 2 / s)} rows/s sustained over ${s.toFixed(1)} s ` +
        `(${st.insertedBatches} inserts of ${fmt(st.insertedRows / st.insertedBatches)} rows on average, ${waits} back-pressure waits, ` +
        `${st.failedAttempts} failures; ${((cpu.user + cpu.system) / (WRITER_ROWS / 2)).toFixed(2)} µs process CPU per row)`,
    );
  }

  // Top up to REPORT_ROWS with rows generated inside ClickHouse (same shape, same views fire).
  const have = Number((await store.query<{ n: number }>('SELECT count() AS n FROM bench.decisions'))[0].n);
  if (have < REPORT_ROWS) {
    const t0 = performance.now();
    await store.command(
      `INSERT INTO bench.decisions (ts, sid, tenant, campaign_id, fence_id, store_id, trigger, outcome, reason, message_id, dwell_ms)
       SELECT fromUnixTimestamp64Milli(toInt64({from:Int64} + (cityHash64(number, 1) % {span:UInt64}))) AS ts,
         concat('sid-', toString(cityHash64(number, 2) % {subs:UInt64})) AS sid,
         concat('tenant-', toString((cityHash64(number, 3) % {camps:UInt64}) % 20)) AS tenant,
         concat('camp-', toString(cityHash64(number, 3) % {camps:UInt64})) AS campaign_id,
         concat('fence-', toString(((cityHash64(number, 3) % {camps:UInt64}) * 7919 + cityHash64(number, 4) % {spc:UInt64}) % {stores:UInt64})) AS fence_id,
         replaceOne(fence_id, 'fence-', 'store-') AS store_id,
         multiIf(cityHash64(number, 5) % 100 < 70, 'enter', cityHash64(number, 5) % 100 < 95, 'dwell', 'exit') AS trigger,
         multiIf(cityHash64(number, 6) % 100 < 45, 'sent', cityHash64(number, 6) % 100 < 50, 'holdout', 'suppressed') AS outcome,
         if(outcome = 'suppressed', ['no_consent', 'cap_daily', 'cap_campaign', 'quiet_hours', 'not_in_segment', 'budget'][1 + cityHash64(number, 7) % 6], '') AS reason,
         if(outcome = 'sent', concat('gen-', toString(number)), '') AS message_id,
         if(trigger = 'dwell', 300000, 0) AS dwell_ms
       FROM numbers({n:UInt64})`,
      {
        from: FROM_MS,
        span: SPAN_MS,
        subs: SUBSCRIBERS,
        camps: CAMPAIGNS,
        spc: STORES_PER_CAMPAIGN,
        stores: STORES,
        n: REPORT_ROWS - have,
      },
    );
    const s = (performance.now() - t0) / 1000;
    log(
      `top-up    INSERT … SELECT of ${fmt(REPORT_ROWS - have)} rows generated inside ClickHouse: ${s.toFixed(1)} s ` +
        `(${fmt((REPORT_ROWS - have) / s)} rows/s, no parsing)`,
    );
  }
  await store.command('OPTIMIZE TABLE bench.report_hourly FINAL');
  const total = Number((await store.query<{ n: number }>('SELECT count() AS n FROM bench.decisions'))[0].n);
  const cells = Number(
    (await store.query<{ n: number }>('SELECT count() AS n FROM bench.report_hourly'))[0].n,
  );
  log(`data      ${fmt(total)} decision rows, ${fmt(cells)} report_hourly rows`);

  const reports = createReports({ store, minGroupSize: 10 });
  const range = { fromMs: FROM_MS, toMs: FROM_MS + SPAN_MS };
  const time = async (name: string, run: (i: number) => Promise<unknown>) => {
    await run(0);
    const ms: number[] = [];
    for (let i = 1; i <= QUERY_RUNS; i++) {
      const t0 = performance.now();
      await run(i);
      ms.push(performance.now() - t0);
    }
    log(`query     ${name.padEnd(48)} p50 ${pct(ms, 50).toFixed(1)} ms  p99 ${pct(ms, 99).toFixed(1)} ms`);
  };
  const camp = (i: number) => `camp-${(i * 37) % CAMPAIGNS}`;
  await time('campaign report, hourly, 30 days', (i) =>
    reports.campaign({ ...range, campaignId: camp(i), granularity: 'hour' }),
  );
  await time('campaign report, daily, 30 days', (i) =>
    reports.campaign({ ...range, campaignId: camp(i), granularity: 'day' }),
  );
  await time('campaign report, daily per store, 30 days', (i) =>
    reports.campaign({ ...range, campaignId: camp(i), granularity: 'day', byStore: true }),
  );
  await time('store report, daily, 30 days', (i) =>
    reports.store({ ...range, storeId: `store-${(i * 7919) % STORES}`, granularity: 'day' }),
  );
  // Baseline: the same hourly campaign figures straight from the raw decisions table.
  await time('baseline: hourly campaign funnel from raw decisions', (i) =>
    store.query(
      `SELECT toStartOfHour(ts) AS h, count() AS triggers, countIf(outcome = 'sent') AS sent,
         countIf(outcome = 'suppressed') AS suppressed, countIf(outcome = 'holdout') AS holdout, uniq(sid) AS subscribers
       FROM bench.decisions WHERE campaign_id = {c:String} GROUP BY h ORDER BY h`,
      { c: camp(i) },
    ),
  );
  log(
    `load average at end: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
} finally {
  await store.close();
  await rm(dir, { recursive: true, force: true });
}
