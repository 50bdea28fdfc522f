// The embedded demo: a synthetic subscriber base with phone numbers and consents, and one approved
// campaign on the sample stores. Loaded by the composition root when DEMO is on and the store holds
// no subscribers yet; `npm run simulate` walks the same subscribers around the same stores.
import type { CampaignInput } from './campaigns/index.ts';
import { syntheticSid } from './segments/index.ts';

/** Seed of the demo subscriber base: the simulator derives the same pseudonyms from it. */
export const DEMO_SEED = 2026;
/** The demo campaign's tenant and id. */
export const DEMO_TENANT = 'silpo';
export const DEMO_CAMPAIGN_ID = 'demo-silpo-family';

/** Pseudonym of demo subscriber i. */
export function demoSid(i: number): string {
  return syntheticSid(DEMO_SEED, i);
}

/** Phone number of demo subscriber i (a Ukrainian mobile range, never a real person's: the demo only talks to the simulator). */
export function demoMsisdn(i: number): string {
  return `+38050${String(i % 10_000_000).padStart(7, '0')}`;
}

/** Every tenth demo subscriber has opted out of marketing SMS, so the demo shows that suppression too. */
export function demoOptedOut(i: number): boolean {
  return i % 10 === 9;
}

/**
 * The sample campaign: Silpo's family offer to the `parents` segment, on entering any Silpo store, at
 * any hour (the demo policy has no quiet hours so a newcomer sees it fire whenever they try it).
 */
export function demoCampaign(nowMs: number): CampaignInput {
  const day = 86_400_000;
  const iso = (ms: number) => new Date(ms).toISOString();
  return {
    name: 'Silpo — family weekend offer',
    fences: { ids: [], tags: ['grocery'] },
    segmentId: 'parents',
    trigger: { kind: 'enter' },
    message: {
      senderId: 'Silpo',
      template:
        '{store_name}: -15% on kids products today with code {promo_code}. Reply NO to stop Silpo offers.',
      variants: {
        uk: '{store_name}: -15% на дитячі товари сьогодні з кодом {promo_code}. Відповідь NO - без пропозицій Silpo.',
      },
      declineWord: 'NO',
      validityMinutes: 120,
    },
    schedule: {
      start: iso(nowMs - day),
      end: iso(nowMs + 365 * day),
      timeZone: 'Europe/Kyiv',
    },
    caps: { maxPerPeriod: 1, periodHours: 24 * 7, cooldownHours: 24 },
    budget: { dailyParts: 100_000 },
    holdoutShare: 0.1,
    followUps: [{ afterHours: 72, template: 'Your Silpo code {promo_code} is still valid this week.' }],
  };
}
