import { z } from 'zod';
import { isValidZone } from './zone-offsets.ts';

export const CAMPAIGN_STATUSES = [
  'draft',
  'submitted',
  'approved',
  'rejected',
  'active',
  'paused',
  'finished',
] as const;
export type CampaignStatus = (typeof CAMPAIGN_STATUSES)[number];

export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

/** Placeholders a template may use; anything else in braces is rejected. */
export const PLACEHOLDERS = [
  'store_name',
  'store_address',
  'store_id',
  'promo_code',
  'campaign_name',
] as const;
export type Placeholder = (typeof PLACEHOLDERS)[number];

const PLACEHOLDER_RE = /\{([^{}]*)\}/g;
const HHMM = /^(?:[01]\d|2[0-3]):[0-5]\d$|^24:00$/;

/** Minutes since local midnight of an 'HH:MM' string ('24:00' = 1440). */
export function minutesOf(hhmm: string): number {
  return Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));
}

const template = z
  .string()
  .min(1)
  .max(1000)
  .superRefine((t, ctx) => {
    for (const m of t.matchAll(PLACEHOLDER_RE)) {
      if (!(PLACEHOLDERS as readonly string[]).includes(m[1])) {
        ctx.addIssue({
          code: 'custom',
          message: `unknown placeholder {${m[1]}}; use ${PLACEHOLDERS.join(', ')}`,
        });
      }
    }
  });

const languageVariants = z
  .record(z.string().regex(/^[a-z]{2}$/, 'a two-letter language code'), template)
  .default({});

/** Alphanumeric sender (≤ 11 GSM letters/digits/spaces, at least one letter) or a numeric one (≤ 15 digits). */
export const senderIdSchema = z
  .string()
  .regex(
    /^(?=.*[A-Za-z])[A-Za-z0-9 .&_-]{1,11}$|^\+?\d{1,15}$/,
    'alphanumeric ≤ 11 characters or numeric ≤ 15 digits',
  );

const window = z
  .strictObject({
    from: z.string().regex(HHMM, 'HH:MM'),
    to: z.string().regex(HHMM, 'HH:MM'),
  })
  .refine((w) => w.from !== w.to, 'an hour window needs from ≠ to (to < from crosses midnight)');

const isoInstant = z.iso.datetime({ offset: true, local: true });

export const triggerSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('enter') }),
  z.strictObject({ kind: z.literal('dwell'), minMinutes: z.number().int().min(1).max(1440) }),
  z.strictObject({ kind: z.literal('exit'), minMinutes: z.number().int().min(0).max(1440) }),
]);
export type Trigger = z.infer<typeof triggerSchema>;

export const followUpSchema = z.strictObject({
  afterHours: z.number().positive().max(720),
  template,
  variants: languageVariants,
  unless: z.literal('converted').default('converted'),
});
export type FollowUp = z.infer<typeof followUpSchema>;

/** What a retailer writes: everything but identity, tenant and lifecycle state. */
export const campaignInputSchema = z
  .strictObject({
    name: z.string().min(1).max(200),
    fences: z
      .strictObject({
        ids: z.array(z.string().min(1).max(128)).max(100_000).default([]),
        tags: z.array(z.string().min(1).max(64)).max(100).default([]),
      })
      .refine((f) => f.ids.length + f.tags.length > 0, 'name at least one geofence id or tag'),
    segmentId: z.string().min(1).max(64),
    trigger: triggerSchema,
    message: z.strictObject({
      senderId: senderIdSchema,
      template,
      /** Templates by the subscriber's `language` attribute; `template` when none fits. */
      variants: languageVariants,
      /** Reply word that declines this retailer's offers for the policy's brand-decline period. */
      declineWord: z.string().min(1).max(20).optional(),
      validityMinutes: z.number().int().min(1).max(1440).optional(),
    }),
    schedule: z.strictObject({
      start: isoInstant,
      end: isoInstant,
      /** IANA zone of `start`/`end` without an offset, of the days and hour windows, and of the daily budget. */
      timeZone: z.string().refine(isValidZone, 'unknown IANA time zone'),
      days: z
        .array(z.enum(WEEKDAYS))
        .min(1)
        .default([...WEEKDAYS]),
      hours: z
        .array(window)
        .min(1)
        .max(12)
        .default([{ from: '00:00', to: '24:00' }]),
    }),
    caps: z
      .strictObject({
        /** At most this many SMS of this campaign per subscriber per `periodHours`. */
        maxPerPeriod: z.number().int().min(1).max(1000).default(1),
        periodHours: z
          .number()
          .int()
          .min(1)
          .max(24 * 366)
          .default(24 * 7),
        /** At least this long between two SMS of this campaign to one subscriber. */
        cooldownHours: z
          .number()
          .min(0)
          .max(24 * 366)
          .default(24),
      })
      .default({ maxPerPeriod: 1, periodHours: 24 * 7, cooldownHours: 24 }),
    budget: z
      .strictObject({
        totalParts: z.number().int().min(1).max(1e9).optional(),
        dailyParts: z.number().int().min(1).max(1e9).optional(),
      })
      .default({}),
    holdoutShare: z.number().min(0).max(0.9).default(0),
    followUps: z.array(followUpSchema).max(5).default([]),
    priority: z.number().int().min(0).max(100).default(50),
  })
  .strict();
export type CampaignInput = z.input<typeof campaignInputSchema>;
export type CampaignSpec = z.infer<typeof campaignInputSchema>;

/** A stored campaign: the spec plus identity and lifecycle. */
export interface Campaign extends CampaignSpec {
  id: string;
  tenant: string;
  status: CampaignStatus;
  rejectReason?: string;
  /** Why it finished ('end_date', 'budget_spent', 'manual'). */
  finishReason?: string;
  approvedBy?: string;
}

/** The operator's global policy (admin API, persisted as the one `policy` definition). */
export const policySchema = z
  .strictObject({
    /** Marketing SMS are never sent inside this local window of the fence's time zone; null = none. */
    quietHours: z
      .strictObject({ from: z.string().regex(HHMM), to: z.string().regex(HHMM) })
      .nullable()
      .default({ from: '21:00', to: '09:00' }),
    maxPerDay: z.number().int().min(0).max(100).default(2),
    maxPerWeek: z.number().int().min(0).max(500).default(5),
    minIntervalMinutes: z
      .number()
      .int()
      .min(0)
      .max(7 * 24 * 60)
      .default(240),
    /** Subscriber pseudonyms that never get marketing SMS. */
    blocklist: z.array(z.string().min(1).max(64)).max(1_000_000).default([]),
    brandDeclineDays: z.number().int().min(1).max(3650).default(30),
    /** Presence events older than this when decided are skipped as stale. */
    maxEventAgeSec: z.number().int().min(1).max(86_400).default(300),
  })
  .strict();
export type Policy = z.infer<typeof policySchema>;
export type PolicyInput = z.input<typeof policySchema>;

/** The default policy (what applies before an admin stores one). */
export const DEFAULT_POLICY: Policy = policySchema.parse({});

/** Placeholders used by a template, in order. */
export function placeholdersOf(t: string): Placeholder[] {
  return [...t.matchAll(PLACEHOLDER_RE)].map((m) => m[1] as Placeholder);
}
