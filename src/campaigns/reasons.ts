/**
 * Suppression reasons, in the order the engine checks them: a decision carries the first that applies.
 * These strings are stored in `decisions.reason` and shown in reports ("why was this not sent").
 */
export const SUPPRESSION_REASONS = [
  'stale_event',
  'outside_schedule',
  'quiet_hours',
  'not_in_segment',
  'no_consent',
  'opted_out',
  'brand_declined',
  'blocklisted',
  'cap_campaign',
  'cooldown',
  'cap_daily',
  'cap_weekly',
  'min_interval',
  'budget_total',
  'budget_daily',
  'arbitration_lost',
] as const;
export type SuppressionReason = (typeof SUPPRESSION_REASONS)[number];

export type DecisionOutcome = 'sent' | 'suppressed' | 'holdout';
export type DecisionTrigger = 'enter' | 'dwell' | 'exit' | 'followup';
