// What the end-to-end tests know about the demo world, worked out with the repo's own catalogues and
// generator rather than hard-coded: who the demo subscribers are, which of them are in the campaign's
// segment, which stores the campaign covers, a point well inside each and one far from every fence,
// and the text each subscriber should get.
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { PROMO_ALPHABET } from '../../../src/campaigns/index.ts';
import { normaliseMsisdn } from '../../../src/deliver/index.ts';
import {
  DEMO_SEED,
  DEMO_TENANT,
  demoCampaign,
  demoMsisdn,
  demoOptedOut,
  demoSid,
} from '../../../src/demo.ts';
import {
  createMatcher,
  DEFAULT_FENCE_LIMITS,
  destination,
  type Fence,
  type GeoMatcher,
  loadCatalogue,
} from '../../../src/geo/index.ts';
import {
  createObjectEvaluator,
  generateSubscribers,
  loadSegmentCatalogue,
} from '../../../src/segments/index.ts';
import { REPO_DIR } from './service-process.ts';

export interface DemoSubscriber {
  i: number;
  sid: string;
  /** Digits only, as the SMSC sees destination_addr. */
  msisdn: string;
  inSegment: boolean;
  optedOut: boolean;
  language: string | null;
}

export interface Store {
  fenceId: string;
  storeId: string;
  name: string;
  /** [lon, lat] at least `clearanceM` inside the fence and inside no other fence of the tenant. */
  inside: [number, number];
  clearanceM: number;
}

export interface Ping {
  sid: string;
  lat: number;
  lon: number;
  ts: number;
  acc: number;
  src: string;
}

const campaign = demoCampaign(Date.now());
export const TENANT = DEMO_TENANT;
export const SENDER_ID = campaign.message.senderId;
const PING_ACC_M = 10;

/** The demo base as the service generates it, with segment membership evaluated by the repo's evaluator. */
export async function demoSubscribers(count: number): Promise<DemoSubscriber[]> {
  const segments = await loadSegmentCatalogue(`${REPO_DIR}segments`);
  const segment = segments.find((s) => s.id === campaign.segmentId);
  if (!segment) throw new Error(`segment ${campaign.segmentId} is not in segments/`);
  const inSegment = createObjectEvaluator(segment.rule);
  const nowMs = Date.now();
  const out: DemoSubscriber[] = [];
  let i = 0;
  for (const p of generateSubscribers({ seed: DEMO_SEED, count, nowMs })) {
    if (p.sid !== demoSid(i)) throw new Error(`generator and demoSid disagree at ${i}`);
    out.push({
      i,
      sid: p.sid,
      msisdn: normaliseMsisdn(demoMsisdn(i)),
      inSegment: inSegment(p, nowMs),
      optedOut: demoOptedOut(i),
      language: typeof p.language === 'string' ? p.language : null,
    });
    i++;
  }
  return out;
}

let geo: Promise<{ matcher: GeoMatcher; fences: Fence[] }> | undefined;
function catalogue() {
  geo ??= loadCatalogue(`${REPO_DIR}geofences`, DEFAULT_FENCE_LIMITS).then(({ fences }) => ({
    matcher: createMatcher({ fences }),
    fences,
  }));
  return geo;
}

/** The campaign's stores (its tenant's fences carrying one of its tags), each with a point well inside. */
export async function campaignStores(): Promise<Store[]> {
  const { matcher, fences } = await catalogue();
  const tags = campaign.fences.tags ?? [];
  const stores: Store[] = [];
  for (const f of fences) {
    if (f.props.tenant !== TENANT || !f.props.tags.some((t) => tags.includes(t))) continue;
    const ours = (lon: number, lat: number) =>
      matcher.match(lon, lat, PING_ACC_M).filter((m) => m.props.tenant === TENANT);
    // Grid over the bbox; keep the covered point farthest (in 5 m steps) from the fence's edge.
    let best: { p: [number, number]; clearance: number } | undefined;
    const [w, s, e, n] = f.bbox;
    for (let a = 1; a < 20; a++) {
      for (let b = 1; b < 20; b++) {
        const p: [number, number] = [w + ((e - w) * a) / 20, s + ((n - s) * b) / 20];
        const here = ours(p[0], p[1]);
        if (here.length !== 1 || here[0].props.id !== f.props.id) continue;
        let clearance = 0;
        for (let r = 5; r <= 60; r += 5) {
          const ring = [0, 45, 90, 135, 180, 225, 270, 315].map((deg) => destination(p[0], p[1], r, deg));
          if (!ring.every(([lon, lat]) => matcher.near(f, lon, lat, 0))) break;
          clearance = r;
        }
        if (!best || clearance > best.clearance) best = { p, clearance };
      }
    }
    if (!best || best.clearance < 10) continue;
    stores.push({
      fenceId: f.props.id,
      storeId: f.props.storeId,
      name: f.props.name,
      inside: best.p,
      clearanceM: best.clearance,
    });
  }
  if (stores.length === 0) throw new Error('the demo campaign covers no usable store in geofences/');
  return stores;
}

/** A point 20 km west of the first store, checked to lie in no fence at all. */
export async function farAway(store: Store): Promise<[number, number]> {
  const { matcher } = await catalogue();
  const p = destination(store.inside[0], store.inside[1], 20_000, 270);
  if (matcher.match(p[0], p[1], 5_000).length !== 0) throw new Error('the far point lies in a fence');
  return p;
}

/** A walk into a store: one ping far away, then three inside 20 s apart (the enter comes at the first). */
export function walkIn(sid: string, store: Store, outside: [number, number], startMs: number): Ping[] {
  const ping = (p: [number, number], ts: number): Ping => ({
    sid,
    lon: p[0],
    lat: p[1],
    ts,
    acc: PING_ACC_M,
    src: 'gps',
  });
  return [
    ping(outside, startMs),
    ping(store.inside, startMs + 20_000),
    ping(store.inside, startMs + 40_000),
    ping(store.inside, startMs + 60_000),
  ];
}

/** Produces pings keyed by sid (kafkajs, default partitioner), in order, in batches of `batch`. */
export async function producePings(brokers: string[], topic: string, pings: Ping[], batch = 200) {
  const kafka = new Kafka({ clientId: 'e2e-producer', brokers, logLevel: logLevel.NOTHING });
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  try {
    for (let i = 0; i < pings.length; i += batch) {
      await producer.send({
        topic,
        messages: pings.slice(i, i + batch).map((p) => ({ key: p.sid, value: JSON.stringify(p) })),
      });
    }
  } finally {
    await producer.disconnect();
  }
}

/** Waits until the consumer group has committed every message of the topic (all pings decided). */
export async function waitForGroupCaughtUp(
  brokers: string[],
  topic: string,
  groupId: string,
  timeoutMs = 60_000,
): Promise<void> {
  const kafka = new Kafka({ clientId: 'e2e-admin', brokers, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  try {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const high = await admin.fetchTopicOffsets(topic);
      const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
      const behind = high.filter((h) => {
        const c = committed?.partitions.find((p) => p.partition === h.partition)?.offset ?? '-1';
        return BigInt(c) < BigInt(h.high);
      });
      if (behind.length === 0) return;
      if (Date.now() > end) {
        throw new Error(`group ${groupId} still behind on partitions ${behind.map((b) => b.partition)}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  } finally {
    await admin.disconnect();
  }
}

/**
 * The text subscriber `s` should get at `store`, as a pattern: the campaign's template (the variant of
 * their language when there is one) with the store's name, and a promo code captured as group 1.
 */
export function expectedText(s: DemoSubscriber, store: Store): RegExp {
  const variants: Record<string, string> = campaign.message.variants ?? {};
  const template = (s.language !== null && variants[s.language]) || campaign.message.template;
  const esc = (t: string) => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const parts = template.split(/(\{store_name\}|\{promo_code\})/);
  const body = parts
    .map((p) =>
      p === '{store_name}' ? esc(store.name) : p === '{promo_code}' ? `([${PROMO_ALPHABET}]{4,12})` : esc(p),
    )
    .join('');
  return new RegExp(`^${body}$`);
}

/** Parts a UCS-2 text needs: one of up to 70 characters, else 67 per part (6-octet concatenation UDH). */
export function ucs2Parts(text: string): number {
  return text.length <= 70 ? 1 : Math.ceil(text.length / 67);
}

/** True when every character of the text is in the GSM 03.38 default alphabet (basic set or extension). */
export function isGsm7(text: string): boolean {
  const basic =
    '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà';
  const ext = '^{}\\[~]|€\f';
  for (const ch of text) if (!basic.includes(ch) && !ext.includes(ch)) return false;
  return true;
}
