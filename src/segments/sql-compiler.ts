import { AppError } from '../errors.ts';
import { ATTRIBUTES, type Attribute, attributeMap } from './catalogue.ts';
import { DAY_MS, toDayNumber } from './codec.ts';
import { assertValidRule } from './rule-compiler.ts';
import type { LeafRule, SegmentRule } from './rule-schema.ts';

export interface CompiledSql {
  /** Boolean expression over the `subscribers` columns; never NULL. */
  where: string;
  /** `SELECT count() AS n FROM <table> FINAL WHERE …` — the exact audience size. */
  sql: string;
  /** Query parameters for `{pN:Type}` placeholders (pass as `query_params`). */
  params: Record<string, unknown>;
}

export interface SqlCompileOptions {
  table?: string;
  catalogue?: readonly Attribute[];
}

const IDENT = /^[a-z_][a-z0-9_]*$/;
const TABLE = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$/;

function ident(name: string): string {
  if (!IDENT.test(name)) throw new AppError('INTERNAL', `not a column name: ${name}`);
  return name;
}

/**
 * Compiles a rule into ClickHouse SQL over the `subscribers` table (one column per catalogue attribute,
 * see migration 100), with the same semantics as `compileSegment`: a leaf on an unknown (NULL) value is
 * false, `not` is plain negation, timestamps are compared as UTC day numbers against `nowMs`.
 * Values travel as query parameters; column names come from the catalogue only.
 */
export function compileSegmentSql(
  rule: SegmentRule,
  nowMs: number,
  options: SqlCompileOptions = {},
): CompiledSql {
  const catalogue = options.catalogue ?? ATTRIBUTES;
  const table = options.table ?? 'subscribers';
  if (!TABLE.test(table)) throw new AppError('INTERNAL', `not a table name: ${table}`);
  const valid = assertValidRule(rule, catalogue);
  const attrs = attributeMap(catalogue);
  const today = Math.floor(nowMs / DAY_MS);
  const params: Record<string, unknown> = {};
  let n = 0;
  const param = (type: string, value: unknown) => {
    const name = `p${n++}`;
    params[name] = value;
    return `{${name}:${type}}`;
  };

  const leaf = (r: LeafRule): string => {
    const attr = attrs.get(r.attr)!;
    const col = ident(attr.name);
    if (attr.type === 'set') {
      const list = () => param('Array(String)', r.values);
      if (r.op === 'exists') return `notEmpty(${col})`;
      if (r.op === 'has_any') return `hasAny(${col}, ${list()})`;
      if (r.op === 'has_all') return `hasAll(${col}, ${list()})`;
      return `NOT hasAny(${col}, ${list()})`;
    }
    const isTs = attr.type === 'timestamp';
    const v = isTs ? `toInt32(${col})` : col;
    const type =
      attr.type === 'int' || isTs
        ? 'Int64'
        : attr.type === 'decimal'
          ? `Decimal64(${Math.round(Math.log10(attr.scale))})`
          : attr.type === 'enum'
            ? 'String'
            : 'Bool';
    const operand = (x: unknown) => {
      if (isTs) return toDayNumber(x)!;
      if (attr.type === 'decimal') return (x as number).toFixed(Math.round(Math.log10(attr.scale)));
      return x;
    };
    const p = (x: unknown) => param(type, operand(x));
    // array parameters are formatted as literals: decimals go as numbers there (quoted strings do not parse)
    const listOperand = (x: unknown) => (attr.type === 'decimal' ? Number(operand(x)) : operand(x));
    const known = (cmp: string) => `(${col} IS NOT NULL AND ${cmp})`;
    switch (r.op) {
      case 'exists':
        return `(${col} IS NOT NULL)`;
      case 'eq':
        return known(`${v} = ${p(r.value)}`);
      case 'ne':
        return known(`${v} != ${p(r.value)}`);
      case 'gt':
        return known(`${v} > ${p(r.value)}`);
      case 'gte':
        return known(`${v} >= ${p(r.value)}`);
      case 'lt':
        return known(`${v} < ${p(r.value)}`);
      case 'lte':
        return known(`${v} <= ${p(r.value)}`);
      case 'between': {
        const [lo, hi] = r.value as [unknown, unknown];
        return known(`${v} BETWEEN ${p(lo)} AND ${p(hi)}`);
      }
      case 'in':
        return known(`has(${param(`Array(${type})`, r.values!.map(listOperand))}, ${v})`);
      case 'not_in':
        return known(`NOT has(${param(`Array(${type})`, r.values!.map(listOperand))}, ${v})`);
      case 'current_month':
        return known(`${v} = ${param('Int64', new Date(nowMs).getUTCMonth() + 1)}`);
      case 'inactive_for_days':
        return known(`${v} <= ${param('Int64', today - r.days!)}`);
      case 'days_since': {
        const parts: string[] = [];
        if (r.gte !== undefined) parts.push(`${v} <= ${param('Int64', today - r.gte)}`);
        if (r.lte !== undefined) parts.push(`${v} >= ${param('Int64', today - r.lte)}`);
        return known(parts.join(' AND '));
      }
      default:
        throw new AppError('INTERNAL', `operator ${r.op} has no SQL form`);
    }
  };

  const walk = (r: SegmentRule): string => {
    if ('all' in r) return `(${r.all.map(walk).join(' AND ')})`;
    if ('any' in r) return `(${r.any.map(walk).join(' OR ')})`;
    if ('not' in r) return `(NOT ${walk(r.not)})`;
    return leaf(r);
  };

  const where = walk(valid);
  return { where, params, sql: `SELECT count() AS n FROM ${table} FINAL WHERE is_deleted = 0 AND ${where}` };
}
