export { type Audience, createAudience } from './audience.ts';
export {
  type Actor,
  type CampaignService,
  type CampaignServiceDeps,
  createCampaignService,
  type DefinitionsPort,
  LIFECYCLE_ACTIONS,
  type LifecycleAction,
  nextStatus,
  type Preview,
  type StoredCampaign,
} from './campaign-service.ts';
export { type CompiledCampaign, type FenceInfo, resolveFences } from './compile.ts';
export {
  type ConversionInput,
  type ConversionResult,
  type Conversions,
  createConversions,
} from './conversions.ts';
export { type BudgetState, type Counters, createCounters } from './counters.ts';
export { createDecider, type Decider, type DecisionSink, decisionRow } from './decider.ts';
export {
  createDecisionEngine,
  type Decision,
  type DecisionEngine,
  type EngineDeps,
  type FollowUpOutcome,
  type FollowUpStep,
  type SendOrder,
} from './engine.ts';
export { createFollowUpScheduler, type FollowUpScheduler, type FollowUpSink } from './followups.ts';
export {
  createPromoCodes,
  isPromoCodeShape,
  PROMO_ALPHABET,
  type PromoCodes,
  type PromoIssue,
} from './promo-codes.ts';
export {
  type DecisionOutcome,
  type DecisionTrigger,
  SUPPRESSION_REASONS,
  type SuppressionReason,
} from './reasons.ts';
export { createReplayFilter, loadReplayFilter, type ReplayFilter, replayKey } from './replay.ts';
export { promoCodeFinder, restoreDecideState } from './restore.ts';
export { buildWeekMask, inMask, localDayOf, nextAllowed, parseInstant, weekMinuteOf } from './schedule.ts';
export {
  CAMPAIGN_STATUSES,
  type Campaign,
  type CampaignInput,
  type CampaignSpec,
  type CampaignStatus,
  campaignInputSchema,
  DEFAULT_POLICY,
  type FollowUp,
  followUpSchema,
  PLACEHOLDERS,
  type Policy,
  type PolicyInput,
  policySchema,
  senderIdSchema,
  type Trigger,
  triggerSchema,
  WEEKDAYS,
  type Weekday,
} from './schema.ts';
export { type CompiledTemplate, compileTemplate, renderTemplate } from './template.ts';
export { applyPolicy, finishDueCampaigns, replyAttribution } from './wiring.ts';
export { createZoneCache, createZoneOffsets, isValidZone, type ZoneOffsets } from './zone-offsets.ts';
