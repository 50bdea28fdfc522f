export {
  ATTRIBUTE_GROUPS,
  ATTRIBUTE_TYPES,
  ATTRIBUTES,
  type Attribute,
  type AttributeGroup,
  type AttributeType,
  attributeMap,
  CITIES,
  INTERESTS,
  REGIONS,
} from './catalogue.ts';
export { DAY_MS, decodeValue, encodeValue, type Profile, type ProfileInput, toDayNumber } from './codec.ts';
export {
  createRandom,
  type GeneratedProfile,
  type GeneratorOptions,
  generateSubscribers,
  syntheticSid,
} from './generator.ts';
export { ALIVE_BIT, type AttributeSlot, buildLayout, type Layout, type ProfileRows } from './layout.ts';
export {
  type LoadError,
  type LoadOptions,
  type LoadResult,
  loadProfilesCsv,
  loadProfilesNdjson,
} from './loaders.ts';
export { createObjectEvaluator } from './object-evaluator.ts';
export {
  createProfileConsumer,
  type ProfileConsumer,
  type ProfileConsumerOptions,
  type ProfileConsumerStats,
} from './profile-consumer.ts';
export {
  createProfileRepository,
  type ProfileFormat,
  type ProfileRepository,
  type ProfileRepositoryOptions,
} from './profile-repository.ts';
export { profileInputSchema, profileInputSchemaFor } from './profile-schema.ts';
export {
  createProfileStore,
  type ProfileStore,
  type ProfileStoreMemory,
  type ProfileStoreOptions,
  type SlotListener,
} from './profile-store.ts';
export {
  assertValidRule,
  type CompiledSegment,
  compileSegment,
  monthOfDay,
  type SlotTest,
} from './rule-compiler.ts';
export {
  LEAF_OPS,
  type LeafOp,
  type LeafRule,
  opsFor,
  type RuleIssue,
  type RuleIssueReason,
  ruleShapeSchema,
  type Segment,
  type SegmentInput,
  type SegmentRule,
  segmentRuleSchema,
  segmentRuleSchemaFor,
  segmentSchema,
  segmentShapeSchema,
  validateRule,
} from './rule-schema.ts';
export { loadSegmentCatalogue, parseSegment } from './segment-catalogue.ts';
export {
  type AudienceSize,
  createSegmentService,
  type SegmentService,
  type SharedSize,
  type StoredSegment,
  shareSize,
} from './segment-service.ts';
export { SID_PATTERN } from './sid-index.ts';
export { type CompiledSql, compileSegmentSql, type SqlCompileOptions } from './sql-compiler.ts';
export { columnType, deletionRow, profileToRow, subscribersTableDdl } from './sql-schema.ts';
