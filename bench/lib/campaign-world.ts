import { type Campaign, campaignInputSchema, type FenceInfo } from '../../src/campaigns/index.ts';
import type { PresenceEvent } from '../../src/presence/types.ts';
import { compileSegment } from '../../src/segments/index.ts';
import { createRandom } from './random.ts';

const ZONES = ['Europe/Kyiv', 'Europe/Warsaw', 'Europe/Berlin', 'Europe/London'];

/** A seeded world for the decide benchmark: fences of many retailers, active campaigns on them, events. */
export function campaignWorld(opts: {
  seed: number;
  campaigns: number;
  fences: number;
  tenants: number;
  startMs: number;
}) {
  const r = createRandom(opts.seed);
  const fences: FenceInfo[] = [];
  for (let i = 0; i < opts.fences; i++) {
    fences.push({
      id: `fence-${i}`,
      tenant: `retailer-${i % opts.tenants}`,
      name: `Store ${i}`,
      storeId: `store-${i}`,
      address: `${i} High Street`,
      tags: [r.pick(['city', 'mall', 'airport', 'suburb'])],
      timeZone: r.pick(ZONES),
    });
  }
  const campaigns: Campaign[] = [];
  for (let i = 0; i < opts.campaigns; i++) {
    const tenant = `retailer-${i % opts.tenants}`;
    const own = fences.filter((f) => f.tenant === tenant);
    const ids = Array.from({ length: r.int(5, 40) }, () => r.pick(own).id);
    const kind = r.pick(['enter', 'enter', 'dwell', 'exit'] as const);
    const spec = campaignInputSchema.parse({
      name: `Campaign ${i}`,
      fences: { ids },
      segmentId: r.pick(['young-urban', 'lapsed', 'everyone']),
      trigger: kind === 'enter' ? { kind } : { kind, minMinutes: r.int(2, 15) },
      message: {
        senderId: 'SHOP',
        template: '{store_name}: 15% off today with code {promo_code}. Reply NO to stop offers.',
        variants: { uk: '{store_name}: знижка 15% сьогодні з кодом {promo_code}' },
        declineWord: 'NO',
      },
      schedule: {
        start: new Date(opts.startMs - 86_400_000).toISOString(),
        end: new Date(opts.startMs + 30 * 86_400_000).toISOString(),
        timeZone: r.pick(ZONES),
        days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'],
        hours: [{ from: '08:00', to: '22:00' }],
      },
      caps: { maxPerPeriod: r.int(1, 3), periodHours: 168, cooldownHours: r.pick([4, 24, 48]) },
      budget: { totalParts: r.int(50_000, 500_000), dailyParts: r.int(5_000, 50_000) },
      holdoutShare: r.pick([0, 0.1]),
      followUps: [],
      priority: r.int(0, 5),
    });
    campaigns.push({ ...spec, id: `campaign-${i}`, tenant, status: 'active' });
  }
  return { fences, campaigns, random: r };
}

/** Presence events over subscriber ids `sids`, on fences that carry campaigns. */
export function presenceEvents(
  r: ReturnType<typeof createRandom>,
  sids: readonly string[],
  fenceIds: readonly string[],
  n: number,
  startMs: number,
): { events: PresenceEvent[]; nows: Float64Array } {
  const events: PresenceEvent[] = [];
  const nows = new Float64Array(n);
  let now = startMs;
  for (let i = 0; i < n; i++) {
    now += r.int(0, 2);
    const kind = r.pick(['enter', 'enter', 'dwell', 'exit'] as const);
    events.push({
      kind,
      sid: r.pick(sids),
      fenceId: r.pick(fenceIds),
      tsMs: now - r.int(0, 5000),
      dwellMs: kind === 'enter' ? 0 : r.int(0, 30) * 60_000,
    });
    nows[i] = now;
  }
  return { events, nows };
}

/** The three segments the world's campaigns name (`young-urban`, `lapsed`, `everyone`), compiled. */
export function worldSegments() {
  return new Map([
    [
      'young-urban',
      compileSegment({
        all: [
          { attr: 'age', op: 'between', value: [18, 35] },
          { attr: 'home_region', op: 'in', values: ['capital', 'central'] },
        ],
      }),
    ],
    ['lapsed', compileSegment({ attr: 'last_purchase_at', op: 'inactive_for_days', days: 30 })],
    ['everyone', compileSegment({ not: { attr: 'age', op: 'lt', value: 18 } })],
  ]);
}
