import {
  type Campaign,
  type CampaignInput,
  campaignInputSchema,
  type FenceInfo,
} from '../../../src/campaigns/index.ts';
import { createConsentEngine } from '../../../src/consent/index.ts';
import { createLogger } from '../../../src/logger.ts';

export const silentLogger = createLogger({ level: 'silent' });

/** mulberry32: small seeded PRNG for reproducible generated data. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const GSM = new Set(
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà',
);
const GSM_EXT = new Set('^{}\\[~]|€');

/** A plain SMS measure for tests (GSM 03.38 basic + extension table, else UCS-2). */
export function measure(text: string): { parts: number; encoding: string } {
  let septets = 0;
  let gsm = true;
  for (const ch of text) {
    if (GSM.has(ch)) septets++;
    else if (GSM_EXT.has(ch)) septets += 2;
    else gsm = false;
  }
  if (gsm) return { encoding: 'GSM-7', parts: septets <= 160 ? 1 : Math.ceil(septets / 153) };
  return { encoding: 'UCS-2', parts: text.length <= 70 ? 1 : Math.ceil(text.length / 67) };
}

export function buildFence(over: Partial<FenceInfo> = {}): FenceInfo {
  return {
    id: 'f1',
    tenant: 'acme',
    name: 'Acme Central',
    storeId: 's1',
    address: '1 Main St',
    tags: ['city'],
    timeZone: 'Europe/Kyiv',
    ...over,
  };
}

export function buildCampaign(
  over: Partial<CampaignInput> & { id?: string; tenant?: string; status?: Campaign['status'] } = {},
): Campaign {
  const { id = 'c1', tenant = 'acme', status = 'active', ...input } = over;
  const spec = campaignInputSchema.parse({
    name: 'Autumn offer',
    fences: { ids: ['f1'] },
    segmentId: 'all',
    trigger: { kind: 'enter' },
    message: { senderId: 'ACME', template: '{store_name}: 15% off today with code {promo_code}' },
    schedule: { start: '2026-01-01T00:00:00Z', end: '2027-01-01T00:00:00Z', timeZone: 'Europe/Kyiv' },
    caps: { maxPerPeriod: 1, periodHours: 168, cooldownHours: 24 },
    ...input,
  });
  return { ...spec, id, tenant, status };
}

/** A consent engine with the given subscribers opted in. */
export function buildConsent(optedIn: string[] = [], nowMs = 0) {
  const consent = createConsentEngine({ logger: silentLogger });
  for (const sid of optedIn) consent.optIn(sid, { source: 'test', evidence: 'builder' }, nowMs);
  return consent;
}
