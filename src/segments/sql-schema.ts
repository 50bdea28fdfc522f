import { ATTRIBUTES, type Attribute } from './catalogue.ts';
import type { Profile } from './codec.ts';

/** The ClickHouse column type of an attribute in the `subscribers` table (NULL = unknown, as in memory). */
export function columnType(attr: Attribute): string {
  switch (attr.type) {
    case 'int':
      if (attr.min >= 0 && attr.max <= 255) return 'Nullable(UInt8)';
      if (attr.min >= 0 && attr.max <= 65535) return 'Nullable(UInt16)';
      return 'Nullable(Int32)';
    case 'decimal':
      return `Nullable(Decimal(9, ${Math.round(Math.log10(attr.scale))}))`;
    case 'enum':
      return 'LowCardinality(Nullable(String))';
    case 'bool':
      return 'Nullable(Bool)';
    case 'set':
      return 'Array(LowCardinality(String))';
    case 'timestamp':
      return 'Nullable(Date)';
  }
}

/** Columns of `subscribers` besides the attributes: key, version and soft delete. */
export const SUBSCRIBER_META_COLUMNS = [
  ['sid', 'String'],
  ['updated_at', "DateTime64(3, 'UTC')"],
  ['is_deleted', 'UInt8'],
] as const;

/**
 * The `CREATE TABLE` of the `subscribers` table for a catalogue; migration 100 holds its output for the
 * default catalogue (a test keeps them equal). One row per sid and version; the newest `updated_at`
 * wins, `is_deleted = 1` hides the sid (read with FINAL).
 */
export function subscribersTableDdl(db = '{{db}}', catalogue: readonly Attribute[] = ATTRIBUTES): string {
  const cols = [
    ...SUBSCRIBER_META_COLUMNS.map(([n, t]) => `  ${n} ${t}`),
    ...catalogue.map((a) => `  ${a.name} ${columnType(a)}`),
  ];
  return `CREATE TABLE IF NOT EXISTS ${db}.subscribers (\n${cols.join(',\n')}\n) ENGINE = ReplacingMergeTree(updated_at, is_deleted) ORDER BY sid;\n`;
}

/** A decoded profile as a `subscribers` row (JSONEachRow). */
export function profileToRow(sid: string, profile: Profile, updatedAtMs: number): Record<string, unknown> {
  return { sid, ...profile, updated_at: new Date(updatedAtMs).toISOString(), is_deleted: 0 };
}

/** The row that deletes sid (a newer version marked deleted). */
export function deletionRow(sid: string, updatedAtMs: number): Record<string, unknown> {
  return { sid, updated_at: new Date(updatedAtMs).toISOString(), is_deleted: 1, interests: [] };
}
