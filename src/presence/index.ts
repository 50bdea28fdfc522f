export {
  DEFAULT_PRESENCE_OPTIONS,
  NEW_FENCE_POLICIES,
  type NewFencePolicy,
  type PresenceOptions,
  presenceOptions,
  presenceOptionsFromConfig,
} from './options.ts';
export {
  createFenceLog,
  createPresenceTracker,
  type FenceLog,
  type PresenceStats,
  type PresenceTracker,
  type PresenceTrackerDeps,
} from './tracker.ts';
export {
  EXIT_CAUSES,
  type ExitCause,
  type FootfallVisit,
  PRESENCE_KINDS,
  type PresenceEvent,
  type PresenceKind,
  type PresenceSink,
} from './types.ts';
