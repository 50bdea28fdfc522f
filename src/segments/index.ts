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
export { ALIVE_BIT, type AttributeSlot, buildLayout, type Column, type Layout } from './layout.ts';
export {
  createProfileStore,
  type ProfileStore,
  type ProfileStoreMemory,
  type ProfileStoreOptions,
} from './profile-store.ts';
export { assertValidRule, type CompiledSegment, compileSegment, type SlotTest } from './rule-compiler.ts';
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
  validateRule,
} from './rule-schema.ts';
