import { z } from 'zod';
import { ATTRIBUTES, type Attribute, attributeMap } from './catalogue.ts';

export const COMPARE_OPS = ['eq', 'ne', 'gt', 'gte', 'lt', 'lte'] as const;
export const LEAF_OPS = [
  ...COMPARE_OPS,
  'between',
  'in',
  'not_in',
  'exists',
  'has_any',
  'has_all',
  'has_none',
  'inactive_for_days',
  'days_since',
  'current_month',
] as const;
export type LeafOp = (typeof LEAF_OPS)[number];

export type RuleValue = number | string | boolean;

/**
 * A leaf compares one attribute. Which fields it needs depends on `op`:
 * eq/ne/gt/gte/lt/lte → `value`; between → `value: [min, max]` (inclusive); in/not_in/has_any/has_all/has_none →
 * `values`; exists → nothing; inactive_for_days → `days` (days since ≥ days); days_since → `gte` and/or `lte` (days).
 * Timestamps compare against ISO dates (`"2026-01-31"`); the current time is passed in at evaluation.
 */
export interface LeafRule {
  attr: string;
  op: LeafOp;
  value?: RuleValue | [RuleValue, RuleValue];
  values?: RuleValue[];
  days?: number;
  gte?: number;
  lte?: number;
}

export type SegmentRule = { all: SegmentRule[] } | { any: SegmentRule[] } | { not: SegmentRule } | LeafRule;

/** Why a rule is invalid; `reason` is stable, `message` is for people. */
export type RuleIssueReason =
  | 'unknown_attribute'
  | 'operator_not_applicable'
  | 'wrong_value_type'
  | 'value_not_allowed'
  | 'value_out_of_range'
  | 'empty_list'
  | 'missing_value'
  | 'too_complex';

export interface RuleIssue {
  path: (string | number)[];
  reason: RuleIssueReason;
  message: string;
}

export const MAX_RULE_DEPTH = 12;
export const MAX_RULE_NODES = 500;
export const MAX_LIST_LENGTH = 1000;

const scalar = z.union([z.number(), z.string().max(200), z.boolean()]);

const leafSchema = z
  .object({
    attr: z.string().min(1).max(100),
    op: z.enum(LEAF_OPS),
    value: z.union([scalar, z.tuple([scalar, scalar])]).optional(),
    values: z.array(scalar).max(MAX_LIST_LENGTH).optional(),
    days: z.number().optional(),
    gte: z.number().optional(),
    lte: z.number().optional(),
  })
  .strict();

/** Structure only (no catalogue checks). */
export const ruleShapeSchema: z.ZodType<SegmentRule> = z
  .lazy(() =>
    z.union([
      z.object({ all: z.array(ruleShapeSchema) }).strict(),
      z.object({ any: z.array(ruleShapeSchema) }).strict(),
      z.object({ not: ruleShapeSchema }).strict(),
      leafSchema,
    ]),
  )
  .meta({ id: 'SegmentRule' }) as z.ZodType<SegmentRule>;

const OPS_BY_TYPE: Record<Attribute['type'], readonly LeafOp[]> = {
  int: ['eq', 'ne', 'gt', 'gte', 'lt', 'lte', 'between', 'in', 'not_in', 'exists', 'current_month'],
  decimal: ['eq', 'ne', 'gt', 'gte', 'lt', 'lte', 'between', 'in', 'not_in', 'exists'],
  enum: ['eq', 'ne', 'in', 'not_in', 'exists'],
  bool: ['eq', 'ne', 'exists'],
  set: ['has_any', 'has_all', 'has_none', 'exists'],
  timestamp: ['gt', 'gte', 'lt', 'lte', 'between', 'exists', 'inactive_for_days', 'days_since'],
};

export function opsFor(type: Attribute['type']): readonly LeafOp[] {
  return OPS_BY_TYPE[type];
}

const ISO_DATE = /^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/;

/** Checks one value against the attribute's type and range; returns an issue or undefined. */
function checkValue(attr: Attribute, value: unknown, path: (string | number)[]): RuleIssue | undefined {
  const bad = (reason: RuleIssueReason, message: string): RuleIssue => ({ path, reason, message });
  switch (attr.type) {
    case 'int':
    case 'decimal': {
      if (typeof value !== 'number' || !Number.isFinite(value)) {
        return bad('wrong_value_type', `${attr.name} is ${attr.type === 'int' ? 'an integer' : 'a number'}`);
      }
      if (attr.type === 'int' && !Number.isInteger(value))
        return bad('wrong_value_type', `${attr.name} is an integer`);
      if (attr.type === 'decimal' && Math.abs(value * attr.scale - Math.round(value * attr.scale)) > 1e-6) {
        return bad('wrong_value_type', `${attr.name} has at most ${Math.log10(attr.scale)} decimals`);
      }
      if (value < attr.min || value > attr.max) {
        return bad('value_out_of_range', `${attr.name} ranges ${attr.min}..${attr.max}`);
      }
      return undefined;
    }
    case 'enum':
    case 'set':
      if (typeof value !== 'string') return bad('wrong_value_type', `${attr.name} takes strings`);
      if (!attr.values.includes(value)) {
        return bad(
          'value_not_allowed',
          `${JSON.stringify(value)} is not a ${attr.name}; allowed: ${attr.values.join(', ')}`,
        );
      }
      return undefined;
    case 'bool':
      return typeof value === 'boolean'
        ? undefined
        : bad('wrong_value_type', `${attr.name} is true or false`);
    case 'timestamp': {
      if (typeof value !== 'string' || !ISO_DATE.test(value) || !Number.isFinite(Date.parse(value))) {
        return bad('wrong_value_type', `${attr.name} compares with an ISO-8601 date such as "2026-01-31"`);
      }
      const year = Number(value.slice(0, 4));
      if (year < 1970 || year > 2148) return bad('value_out_of_range', `${attr.name} dates range 1970..2148`);
      return undefined;
    }
  }
}

function checkDays(name: string, value: unknown, path: (string | number)[]): RuleIssue | undefined {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    return { path, reason: 'wrong_value_type', message: `${name} is a whole number of days` };
  }
  if (value < 0 || value > 65535)
    return { path, reason: 'value_out_of_range', message: `${name} ranges 0..65535` };
  return undefined;
}

function validateLeaf(
  rule: LeafRule,
  attrs: ReadonlyMap<string, Attribute>,
  path: (string | number)[],
  out: RuleIssue[],
) {
  const attr = attrs.get(rule.attr);
  if (!attr) {
    out.push({
      path: [...path, 'attr'],
      reason: 'unknown_attribute',
      message: `unknown attribute ${JSON.stringify(rule.attr)}`,
    });
    return;
  }
  if (!OPS_BY_TYPE[attr.type].includes(rule.op)) {
    out.push({
      path: [...path, 'op'],
      reason: 'operator_not_applicable',
      message: `${rule.op} does not apply to ${attr.name} (${attr.type}); use ${OPS_BY_TYPE[attr.type].join(', ')}`,
    });
    return;
  }
  const push = (issue: RuleIssue | undefined) => {
    if (issue) out.push(issue);
  };
  const missing = (field: string) =>
    out.push({ path: [...path, field], reason: 'missing_value', message: `${rule.op} needs ${field}` });
  switch (rule.op) {
    case 'eq':
    case 'ne':
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte':
      if (rule.value === undefined) missing('value');
      else if (Array.isArray(rule.value)) {
        out.push({
          path: [...path, 'value'],
          reason: 'wrong_value_type',
          message: `${rule.op} takes one value`,
        });
      } else push(checkValue(attr, rule.value, [...path, 'value']));
      return;
    case 'between':
      if (!Array.isArray(rule.value)) {
        if (rule.value === undefined) missing('value');
        else
          out.push({
            path: [...path, 'value'],
            reason: 'wrong_value_type',
            message: 'between takes [min, max]',
          });
        return;
      }
      push(checkValue(attr, rule.value[0], [...path, 'value', 0]));
      push(checkValue(attr, rule.value[1], [...path, 'value', 1]));
      return;
    case 'in':
    case 'not_in':
    case 'has_any':
    case 'has_all':
    case 'has_none':
      if (rule.values === undefined) missing('values');
      else if (rule.values.length === 0) {
        out.push({
          path: [...path, 'values'],
          reason: 'empty_list',
          message: `${rule.op} needs at least one value`,
        });
      } else
        rule.values.forEach((v, i) => {
          push(checkValue(attr, v, [...path, 'values', i]));
        });
      return;
    case 'exists':
      return;
    case 'current_month':
      if (attr.type !== 'int' || attr.min !== 1 || attr.max !== 12) {
        out.push({
          path: [...path, 'op'],
          reason: 'operator_not_applicable',
          message: `current_month applies to month attributes (1..12), not ${attr.name}`,
        });
      }
      return;
    case 'inactive_for_days':
      if (rule.days === undefined) missing('days');
      else push(checkDays('days', rule.days, [...path, 'days']));
      return;
    case 'days_since':
      if (rule.gte === undefined && rule.lte === undefined) missing('gte');
      if (rule.gte !== undefined) push(checkDays('gte', rule.gte, [...path, 'gte']));
      if (rule.lte !== undefined) push(checkDays('lte', rule.lte, [...path, 'lte']));
      return;
  }
}

/** Checks a structurally valid rule against the catalogue; returns every issue found (empty = valid). */
export function validateRule(rule: SegmentRule, catalogue: readonly Attribute[] = ATTRIBUTES): RuleIssue[] {
  const attrs = attributeMap(catalogue);
  const out: RuleIssue[] = [];
  let nodes = 0;
  const walk = (r: SegmentRule, path: (string | number)[], depth: number) => {
    nodes++;
    if (depth > MAX_RULE_DEPTH || nodes > MAX_RULE_NODES) {
      if (!out.some((i) => i.reason === 'too_complex')) {
        out.push({
          path,
          reason: 'too_complex',
          message: `rules nest at most ${MAX_RULE_DEPTH} deep with at most ${MAX_RULE_NODES} nodes`,
        });
      }
      return;
    }
    if ('all' in r || 'any' in r) {
      const key = 'all' in r ? 'all' : 'any';
      const list = 'all' in r ? r.all : r.any;
      if (list.length === 0)
        out.push({ path: [...path, key], reason: 'empty_list', message: `${key} needs at least one rule` });
      list.forEach((child, i) => {
        walk(child, [...path, key, i], depth + 1);
      });
    } else if ('not' in r) walk(r.not, [...path, 'not'], depth + 1);
    else validateLeaf(r, attrs, path, out);
  };
  walk(rule, [], 0);
  return out;
}

/** Builds a zod schema of rules valid against a catalogue (structure + catalogue checks, each issue at its path). */
export function segmentRuleSchemaFor(catalogue: readonly Attribute[] = ATTRIBUTES): z.ZodType<SegmentRule> {
  return ruleShapeSchema.superRefine((rule, ctx) => {
    for (const issue of validateRule(rule, catalogue)) {
      ctx.addIssue({
        code: 'custom',
        path: issue.path,
        message: issue.message,
        params: { reason: issue.reason },
      });
    }
  }) as unknown as z.ZodType<SegmentRule>;
}

/** Segment rules over the default catalogue. */
export const segmentRuleSchema = segmentRuleSchemaFor(ATTRIBUTES);

export const SEGMENT_ID_PATTERN = /^[a-z0-9][a-z0-9_-]{0,63}$/;

const segmentFields = {
  id: z.string().regex(SEGMENT_ID_PATTERN, 'lower-case letters, digits, - and _; at most 64'),
  name: z.string().min(1).max(200),
  description: z.string().max(2000).default(''),
  /** Retailers may see and target this segment. */
  offeredToRetailers: z.boolean().default(false),
  /** What retailers see of it: size rounded to `roundTo`, and nothing below `minSize`. */
  shareRules: z
    .object({
      roundTo: z.number().int().min(1).max(1_000_000).default(100),
      minSize: z.number().int().min(0).max(100_000_000).default(1000),
    })
    .strict()
    .default({ roundTo: 100, minSize: 1000 }),
};

/** A segment definition: the rule is checked against the catalogue too. */
export const segmentSchema = z.object({ ...segmentFields, rule: segmentRuleSchema }).strict();

/** The same shape with the rule checked for structure only (the API then reports catalogue issues itself). */
export const segmentShapeSchema = z.object({ ...segmentFields, rule: ruleShapeSchema }).strict();

export type Segment = z.infer<typeof segmentSchema>;
export type SegmentInput = z.input<typeof segmentSchema>;
