// Segments and profiles benchmark: memory per subscriber, NDJSON/CSV load rate, predicate evaluations
// per second, audience count over a large base — each next to a plain-JS-objects baseline.
//   npm run bench:segments            (N=10M; SEG_BENCH_N=1000000 for a quick run)
import { availableParallelism, cpus, loadavg } from 'node:os';
import { Readable } from 'node:stream';
import {
  compileSegment,
  createObjectEvaluator,
  createProfileStore,
  createRandom,
  DAY_MS,
  type GeneratedProfile,
  generateSubscribers,
  loadProfilesCsv,
  loadProfilesNdjson,
  loadSegmentCatalogue,
  type ProfileStore,
  syntheticSid,
} from '../src/segments/index.ts';

const N = Number(process.env.SEG_BENCH_N ?? 10_000_000);
const POOL = Math.min(N, 250_000);
const LOAD_N = 200_000;
const EVALS = 20_000_000;
const SEED = 20261123;
const NOW = Date.UTC(2026, 10, 23, 12);
const TODAY = Math.floor(NOW / DAY_MS);

const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const mb = (b: number) => `${(b / 1048576).toFixed(1)} MiB`;
const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];

console.log('segments benchmark');
console.log(
  `  node ${process.version} (GLIBC_TUNABLES=${process.env.GLIBC_TUNABLES ?? ''}), ${cpus()[0]?.model ?? '?'} × ${availableParallelism()}, load average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
console.log(
  `  base N=${fmt(N)} subscribers (attributes from a pool of ${fmt(POOL)} generated profiles, every sid distinct), seed ${SEED}`,
);
console.log(
  `  load test ${fmt(LOAD_N)} profiles, ${fmt(EVALS)} predicate evaluations per segment, now=${new Date(NOW).toISOString()}`,
);

// ---------------------------------------------------------------------------------------------- data
const pool: GeneratedProfile[] = [...generateSubscribers({ seed: SEED, count: POOL, nowMs: NOW })];
const segments = await loadSegmentCatalogue(new URL('../segments/', import.meta.url).pathname);

// ---------------------------------------------------------------------------------------------- memory
gc();
const before = process.memoryUsage();
const t0 = performance.now();
const store: ProfileStore = createProfileStore({ capacity: N });
for (let i = 0; i < N; i++) store.upsert(syntheticSid(SEED, i), pool[i % POOL]);
const buildMs = performance.now() - t0;
gc();
const afterStore = process.memoryUsage();
const m = store.memory();
console.log('\nmemory (full catalogue: 41 attributes)');
console.log(
  `  rows      ${(m.columns / N).toFixed(1)} B/subscriber  (one ${store.layout.bytesPerSlot} B row per slot × capacity ${fmt(store.capacity)})`,
);
console.log(
  `  sid index ${(m.index / N).toFixed(1)} B/subscriber  (open-addressing Int32 table + offset/length per slot + 16-char sid bytes)`,
);
console.log(
  `  total     ${(m.total / N).toFixed(1)} B/subscriber  = ${mb(m.total)}; process delta: arrayBuffers +${mb(afterStore.arrayBuffers - before.arrayBuffers)}, heap +${mb(afterStore.heapUsed - before.heapUsed)}`,
);
console.log(
  `  built by ${fmt(N)} upserts in ${(buildMs / 1000).toFixed(1)} s = ${fmt(N / (buildMs / 1000))} upserts/s`,
);

// baseline: the same profiles as plain JS objects in a Map keyed by sid
gc();
const heap0 = process.memoryUsage().heapUsed;
const objects = new Map<string, GeneratedProfile>();
for (let i = 0; i < POOL; i++) objects.set(pool[i].sid, structuredClone(pool[i]));
gc();
const objBytes = (process.memoryUsage().heapUsed - heap0) / POOL;
console.log(
  `  baseline: plain objects in a Map ${objBytes.toFixed(0)} B/subscriber (heap delta over ${fmt(POOL)}), ×${(objBytes / (m.total / N)).toFixed(0)} the row store`,
);
objects.clear();

// ---------------------------------------------------------------------------------------------- load
const loadProfiles = pool.slice(0, Math.min(LOAD_N, POOL));
while (loadProfiles.length < LOAD_N)
  loadProfiles.push({
    ...pool[loadProfiles.length % POOL],
    sid: syntheticSid(SEED + 1, loadProfiles.length),
  });
const ndjson = loadProfiles.map((p) => JSON.stringify(p)).join('\n');
const chunks = (text: string) => {
  const out: Buffer[] = [];
  const buf = Buffer.from(text);
  for (let i = 0; i < buf.length; i += 65536) out.push(buf.subarray(i, i + 65536));
  return out;
};
const ndChunks = chunks(ndjson);
const names = store.catalogue.map((a) => a.name);
const csvCell = (v: unknown) =>
  v === null || v === undefined ? '' : Array.isArray(v) ? v.join('|') : String(v);
const csv = [
  ['sid', ...names].join(','),
  ...loadProfiles.map((p) => [p.sid, ...names.map((n) => csvCell(p[n]))].join(',')),
].join('\n');
const csvChunks = chunks(csv);
console.log(
  `\nload (${fmt(LOAD_N)} profiles, NDJSON ${mb(ndjson.length)}, CSV ${mb(csv.length)}, 64 KiB chunks, into an empty store)`,
);
const rates: number[] = [];
const parseRates: number[] = [];
for (let run = 0; run < 3; run++) {
  // the baseline right before each run, so both see the same machine load
  gc();
  const ps = performance.now();
  let k = 0;
  for (const line of ndjson.split('\n')) if (JSON.parse(line)) k++;
  parseRates.push(k / ((performance.now() - ps) / 1000));
  const target = createProfileStore({ capacity: LOAD_N });
  gc();
  const s = performance.now();
  const r = await loadProfilesNdjson(Readable.from(ndChunks), target);
  const ms = performance.now() - s;
  if (r.loaded !== LOAD_N) throw new Error(`NDJSON loaded ${r.loaded}`);
  rates.push(LOAD_N / (ms / 1000));
}
console.log(`  NDJSON  ${fmt(Math.max(...rates))} profiles/s (best of 3; runs ${rates.map(fmt).join(', ')})`);
console.log(
  `  baseline: JSON.parse of the same lines alone, just before each run: ${parseRates.map(fmt).join(', ')} lines/s`,
);
{
  const target = createProfileStore({ capacity: LOAD_N });
  const s = performance.now();
  const r = await loadProfilesCsv(Readable.from(csvChunks), target);
  const ms = performance.now() - s;
  if (r.loaded !== LOAD_N) throw new Error(`CSV loaded ${r.loaded}: ${JSON.stringify(r.errors.slice(0, 2))}`);
  console.log(`  CSV     ${fmt(LOAD_N / (ms / 1000))} profiles/s (csv-parse)`);
}

// ---------------------------------------------------------------------------------------------- predicates
console.log(`\npredicate evaluations (random slots over the ${fmt(N)} base; one core)`);
const random = createRandom(SEED);
const slots = new Int32Array(1 << 20);
for (let i = 0; i < slots.length; i++) slots[i] = Math.floor(random() * N);
const objPool = pool;
const objIdx = new Int32Array(1 << 20);
for (let i = 0; i < objIdx.length; i++) objIdx[i] = Math.floor(random() * POOL);
const mask = slots.length - 1;
console.log(
  '  segment                         random M/s (rounds)    p50/p99 ns   sequential M/s   objects M/s   speed-up (random)',
);
const counts: { id: string; ms: number[]; count: number; baselineMsPer10M: number }[] = [];
// Random evaluations are one dependent memory miss each, so they move with whatever else the machine
// does (another process's memory traffic, a page-table walk that misses). They are timed in ROUNDS
// interleaved over the segments — a disturbance lands in one round of several segments instead of all
// of one segment's evaluations — and each segment's figure is the median of its rounds (min–max shown).
const ROUNDS = 5;
const BATCH = 1_000_000;
const PER_ROUND = EVALS / ROUNDS;
const compiledTests = segments.map((seg) => compileSegment(seg.rule));
const roundRates: number[][] = segments.map(() => []);
const batchNs: number[][] = segments.map(() => []);
let randomHits = 0;
function timeRandom(test: (typeof compiledTests)[number]['test'], from: number, n: number, out: number[]) {
  const rows = store.rows;
  let hits = 0;
  const start = performance.now();
  for (let b = from; b < from + n; b += BATCH) {
    const bs = performance.now();
    for (let i = b; i < b + BATCH; i++) if (test(rows, slots[i & mask], TODAY)) hits++;
    out.push(((performance.now() - bs) * 1e6) / BATCH);
  }
  randomHits += hits;
  return n / ((performance.now() - start) / 1000);
}
for (const c of compiledTests) timeRandom(c.test, 0, BATCH, []); // warm-up
for (let r = 0; r < ROUNDS; r++)
  for (let k = 0; k < segments.length; k++)
    roundRates[k].push(timeRandom(compiledTests[k].test, r * PER_ROUND, PER_ROUND, batchNs[k]));
for (let k = 0; k < segments.length; k++) {
  const seg = segments[k];
  const compiled = compiledTests[k];
  const test = compiled.test;
  const rows = store.rows;
  let hits = 0;
  const compiledRate = pct(roundRates[k], 50);
  // sequential slots: what a scan (or a batch of consecutive lookups) sees
  const ss = performance.now();
  for (let i = 0; i < EVALS; i++) if (test(rows, i % N, TODAY)) hits++;
  const seqRate = EVALS / ((performance.now() - ss) / 1000);
  const evaluate = createObjectEvaluator(seg.rule);
  const OBJ_EVALS = 2_000_000;
  let objHits = 0;
  for (let i = 0; i < 100_000; i++) if (evaluate(objPool[objIdx[i & mask]], NOW)) objHits++;
  const os = performance.now();
  for (let i = 0; i < OBJ_EVALS; i++) if (evaluate(objPool[objIdx[i & mask]], NOW)) objHits++;
  const objRate = OBJ_EVALS / ((performance.now() - os) / 1000);
  const range = `${(Math.min(...roundRates[k]) / 1e6).toFixed(1)}–${(Math.max(...roundRates[k]) / 1e6).toFixed(1)}`;
  console.log(
    `  ${seg.id.padEnd(30)} ${(compiledRate / 1e6).toFixed(1).padStart(6)} (${range.padStart(9)})   ${pct(batchNs[k], 50).toFixed(1).padStart(5)}/${pct(batchNs[k], 99).toFixed(1).padEnd(5)}   ${(seqRate / 1e6).toFixed(1).padStart(12)}   ${(objRate / 1e6).toFixed(2).padStart(10)}   ×${(compiledRate / objRate).toFixed(0)}${hits + objHits + randomHits < 0 ? '' : ''}`,
  );
  // audience count over the whole base
  const ms: number[] = [];
  let count = 0;
  for (let r = 0; r < 5; r++) {
    const s = performance.now();
    count = compiled.count(store, NOW);
    ms.push(performance.now() - s);
  }
  const bs = performance.now();
  let objCount = 0;
  for (let i = 0; i < POOL; i++) if (evaluate(objPool[i], NOW)) objCount++;
  const baselineMsPer10M = ((performance.now() - bs) / POOL) * 10_000_000;
  counts.push({ id: seg.id, ms, count, baselineMsPer10M: objCount >= 0 ? baselineMsPer10M : 0 });
}
console.log(
  `  (random: median of ${ROUNDS} rounds of ${fmt(PER_ROUND)} evaluations interleaved over the segments, min–max in brackets; p50/p99 over 1M-evaluation batches; objects = createObjectEvaluator over plain profile objects)`,
);
{
  // the decide pattern: one subscriber (random slot) checked against every campaign's segment in turn
  const tests = segments.map((s) => compileSegment(s.rule).test);
  const rows = store.rows;
  const SUBS = 2_000_000;
  let hits = 0;
  const s0 = performance.now();
  for (let i = 0; i < SUBS; i++) {
    const slot = slots[i & mask];
    for (let k = 0; k < tests.length; k++) if (tests[k](rows, slot, TODAY)) hits++;
  }
  const ms = performance.now() - s0;
  console.log(
    `  all ${tests.length} segments per random subscriber (decide pattern): ${((SUBS * tests.length) / (ms / 1000) / 1e6).toFixed(1)} M evaluations/s, ${((ms * 1e6) / SUBS).toFixed(0)} ns per subscriber (${hits} hits)`,
  );
}

console.log(`\naudience count over ${fmt(N)} (full scan of the rows, 5 runs)`);
console.log(
  '  segment                              count      p50 ms   max ms   objects (extrapolated to 10M) ms',
);
for (const c of counts) {
  console.log(
    `  ${c.id.padEnd(30)} ${fmt(c.count).padStart(11)}   ${pct(c.ms, 50).toFixed(0).padStart(6)}   ${Math.max(
      ...c.ms,
    )
      .toFixed(0)
      .padStart(6)}   ${fmt(c.baselineMsPer10M).padStart(10)}`,
  );
}
console.log(
  `\nload average after: ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
