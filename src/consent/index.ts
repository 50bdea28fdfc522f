export {
  type ConsentEngine,
  type ConsentEngineOptions,
  type ConsentLoadRow,
  type ConsentProfiles,
  type ConsentRecordInput,
  type ConsentSink,
  type ConsentVerdict,
  createConsentEngine,
  type DeclineLoadRow,
  type MoResult,
  type OptOutListener,
  type ReplyAttribution,
} from './consent-engine.ts';
export { createKeywordMatcher, normalizeReply, STOP_KEYWORDS } from './keywords.ts';
export { restoreConsent } from './restore.ts';
