import { DateTime } from 'luxon';
import {
  createAudience,
  createDecisionEngine,
  createPromoCodes,
  type Decision,
} from '../src/campaigns/index.ts';
import { createConsentEngine } from '../src/consent/index.ts';
import { measureSms } from '../src/deliver/index.ts';
import { createOutputCollector, eventAt } from '../src/ingest/worker-columns.ts';
import { createLogger } from '../src/logger.ts';
import type { PresenceEvent } from '../src/presence/types.ts';
import { createProfileStore, generateSubscribers } from '../src/segments/index.ts';
import { campaignWorld, presenceEvents, worldSegments } from './lib/campaign-world.ts';
import { createRandom } from './lib/random.ts';

// Parameters: 500 active campaigns over 5,000 fences of 50 retailers; 200k subscribers with real
// columnar profiles and compiled segments; 80% opted in. One core, one thread.
const SEED = Number(process.env.SEED ?? 7);
const CAMPAIGNS = Number(process.env.CAMPAIGNS ?? 500);
const FENCES = 5_000;
const TENANTS = 50;
const SUBSCRIBERS = Number(process.env.SUBSCRIBERS ?? 200_000);
const EVENTS = Number(process.env.EVENTS ?? 2_000_000);
// Tuesday 12:00 Kyiv: inside campaign hours and outside quiet hours, so decisions go the whole way.
const START = Date.UTC(2026, 10, 24, 10, 0);

const logger = createLogger({ level: 'silent' });
const world = campaignWorld({
  seed: SEED,
  campaigns: CAMPAIGNS,
  fences: FENCES,
  tenants: TENANTS,
  startMs: START,
});
const profiles = createProfileStore({ capacity: SUBSCRIBERS });
const sids: string[] = [];
for (const p of generateSubscribers({ seed: SEED, count: SUBSCRIBERS })) {
  const { sid, ...attrs } = p;
  profiles.upsert(sid, attrs);
  sids.push(sid);
}
const segments = worldSegments();
const audience = createAudience({ profiles, segments });
const consent = createConsentEngine({ logger, profiles });
const r = createRandom(SEED + 1);
for (const sid of sids)
  if (r.chance(0.8)) consent.optIn(sid, { source: 'bench', evidence: 'bench' }, START - 86_400_000);
const engine = createDecisionEngine({
  inSegment: audience.inSegment,
  languageOf: audience.languageOf,
  consent,
  measure: measureSms,
  promoCodes: createPromoCodes(),
});
engine.setCampaigns(world.campaigns, world.fences);
const fenceIds = world.fences.map((f) => f.id).filter((id) => engine.campaignsOn(id).length > 0);
// Events are generated in chunks just before they are decided (generation untimed): in the service an
// event arrives fresh from the presence tracker, not from a 2 M-object array that misses the cache.
// Its strings are fresh too, as the service's are: the ingest worker answers with its events in
// columns (src/ingest/worker-columns.ts: each sid and fence id once in a string list, the kind as a
// number) and the main thread turns them back into events with `eventAt`. Each chunk takes that path —
// the worker's collector, a structured clone of the answer (what postMessage does to its string list;
// the columns are transferred), `eventAt` — untimed, so the engine sees fresh sid and fence id strings
// and the kind constants, instead of pointing into the bench's pool of 200 k sid strings, whose first
// touch would be a cache miss the service does not pay. A shorter pass with the pool's strings is
// printed too (POOL_EVENTS).
const CHUNK = 10_000;
let generatedUntil = START;
const collector = createOutputCollector();
const nextChunk = (n: number, fresh = true) => {
  const chunk = presenceEvents(r, sids, fenceIds, n, generatedUntil);
  generatedUntil = chunk.nows[n - 1];
  if (!fresh) return chunk;
  for (const e of chunk.events) collector.event(e);
  const answer = structuredClone(collector.take());
  const events: PresenceEvent[] = [];
  for (let i = 0; i < answer.events.n; i++) events.push(eventAt(answer, i));
  return { events, nows: chunk.nows };
};
const POOL_EVENTS = Number(process.env.POOL_EVENTS ?? 400_000);
const perFence = fenceIds.reduce((s, id) => s + engine.campaignsOn(id).length, 0) / fenceIds.length;

console.log(
  `decide bench: ${CAMPAIGNS} active campaigns, ${FENCES} fences (${fenceIds.length} with campaigns, ${perFence.toFixed(2)} campaigns each), ${TENANTS} retailers, ${SUBSCRIBERS} subscribers, ${EVENTS} events generated in chunks of ${CHUNK}, seed ${SEED}, node ${process.version}`,
);

const tw = process.hrtime.bigint();
const measured = engine.warmMeasures();
console.log(
  `warm-up: ${measured} messages measured in ${(Number(process.hrtime.bigint() - tw) / 1e6).toFixed(0)} ms (measureSms)`,
);
const out: Decision[] = [];
// Outcome tally inside the timed loop: a Map keyed by the engine's reason constants (hashes cached);
// 1.3 M tallies cost it 30–55 ms against 50–80 ms for an object with dynamic keys (scratch test).
const counts = new Map<string, number>();
const outcomes = new Map<string, number>();
// Warm-up (JIT, per-fence message measures), then the timed pass over fresh events.
const WARMUP = Math.floor(EVENTS / 10);
for (let done = 0; done < WARMUP; done += CHUNK) {
  const { events, nows } = nextChunk(Math.min(CHUNK, WARMUP - done));
  for (let i = 0; i < events.length; i++) {
    out.length = 0;
    engine.decide(events[i], nows[i], out);
  }
}
(globalThis as { gc?: () => void }).gc?.();
// The timed loop lives in a function: V8 optimises it fully (module top-level code it does not).
function run(events: readonly PresenceEvent[], nows: Float64Array): number {
  let n = 0;
  for (let i = 0; i < events.length; i++) {
    out.length = 0;
    n += engine.decide(events[i], nows[i], out);
    for (let k = 0; k < out.length; k++) {
      const d = out[k];
      const key = d.outcome === 'suppressed' ? d.reason : d.outcome;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
  }
  return n;
}
/** Decides `n` events in chunks, timing only the engine: decisions, wall and CPU seconds. */
function timePass(n: number, fresh: boolean) {
  let decisions = 0;
  let wallNs = 0n;
  let cpuMicros = 0;
  for (let done = 0; done < n; done += CHUNK) {
    const { events, nows } = nextChunk(Math.min(CHUNK, n - done), fresh);
    const cpu0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    decisions += run(events, nows);
    wallNs += process.hrtime.bigint() - t0;
    const cpu = process.cpuUsage(cpu0);
    cpuMicros += cpu.user + cpu.system;
  }
  return { decisions, secs: Number(wallNs) / 1e9, cpuSecs: cpuMicros / 1e6 };
}
const { decisions, secs, cpuSecs } = timePass(EVENTS - WARMUP, true);
for (const [k, v] of counts) outcomes.set(k, v);
const evs = EVENTS - WARMUP;
console.log(
  `engine: ${(decisions / secs).toFixed(0)} decisions/s wall, ${(decisions / cpuSecs).toFixed(0)} decisions/s of CPU time, ${(evs / secs).toFixed(0)} events/s wall (${decisions} decisions from ${evs} events in ${secs.toFixed(2)} s wall, ${cpuSecs.toFixed(2)} s CPU)`,
);
console.log(
  `outcomes: ${[...outcomes]
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ${v}`)
    .join(', ')}`,
);

// The same engine over events whose strings point into the bench's sid pool (the method before).
const pool = timePass(POOL_EVENTS, false);
console.log(
  `engine, events pointing into the sid pool (${POOL_EVENTS} events): ${(pool.decisions / pool.secs).toFixed(0)} decisions/s wall, ${(pool.decisions / pool.cpuSecs).toFixed(0)} decisions/s of CPU time`,
);

// Latency per event, timed one by one, over fresh events.
const lat = new Float64Array(200_000);
for (let done = 0; done < lat.length; done += CHUNK) {
  const { events, nows } = nextChunk(CHUNK);
  for (let i = 0; i < events.length; i++) {
    out.length = 0;
    const a = process.hrtime.bigint();
    engine.decide(events[i], nows[i], out);
    lat[done + i] = Number(process.hrtime.bigint() - a);
  }
}
lat.sort();
const pct = (p: number) => (lat[Math.floor(p * (lat.length - 1))] / 1000).toFixed(2);
console.log(`latency per event: p50 ${pct(0.5)} µs, p99 ${pct(0.99)} µs, p99.9 ${pct(0.999)} µs`);

// Baseline in the same run: the straightforward engine — scan all campaigns, a luxon DateTime per
// check, counters in arrays of objects. Fewer events, it is slow.
const naiveEvents = 20_000;
const { events, nows } = nextChunk(naiveEvents);
const cpu1 = process.cpuUsage();
const campaigns = world.campaigns;
const fenceTz = new Map(world.fences.map((f) => [f.id, f.timeZone]));
const sent: { sid: string; c: string; ts: number }[] = [];
let naiveDecisions = 0;
const t1 = process.hrtime.bigint();
for (let i = 0; i < naiveEvents; i++) {
  const e = events[i];
  const now = nows[i];
  for (const c of campaigns) {
    if (!c.fences.ids.includes(e.fenceId) || c.trigger.kind !== e.kind) continue;
    naiveDecisions++;
    const local = DateTime.fromMillis(now, { zone: c.schedule.timeZone });
    const quiet = DateTime.fromMillis(now, { zone: fenceTz.get(e.fenceId)! }).hour;
    if (local.hour < 8 || local.hour >= 22 || quiet >= 21 || quiet < 9) continue;
    if (!audience.inSegment(c.segmentId, e.sid, now) || consent.check(e.sid, c.tenant, now) !== '') continue;
    if (sent.some((s) => s.sid === e.sid && s.c === c.id && now - s.ts < 168 * 3_600_000)) continue;
    sent.push({ sid: e.sid, c: c.id, ts: now });
  }
}
const secs1 = Number(process.hrtime.bigint() - t1) / 1e9;
const c1 = process.cpuUsage(cpu1);
console.log(
  `baseline (naive scan + luxon per check): ${(naiveDecisions / secs1).toFixed(0)} decisions/s wall, ${(naiveDecisions / ((c1.user + c1.system) / 1e6)).toFixed(0)} decisions/s of CPU time`,
);
