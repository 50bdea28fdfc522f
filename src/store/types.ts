import type { ClickHouseClient } from '@clickhouse/client';

/** What the store needs from configuration; main.ts maps the CLICKHOUSE_* / DATA_DIR keys onto it. */
export interface StoreConfig {
  /** ClickHouse server URL (http://host:8123); unset = embedded ClickHouse (chDB) under dataDir. */
  url?: string;
  user: string;
  password: string;
  database: string;
  /** Embedded mode keeps its data under `<dataDir>/clickhouse`. */
  dataDir: string;
  /** Days decisions, messages and other personal rows are kept (TTL). */
  ttlDays: number;
  /** Report cells covering fewer distinct subscribers are suppressed. */
  minGroupSize: number;
}

/** One column of a table as ClickHouse reports it (system.columns). */
export interface ColumnInfo {
  name: string;
  type: string;
  /** '' | 'DEFAULT' | 'MATERIALIZED' | 'ALIAS' | 'EPHEMERAL' */
  defaultKind: string;
}

/** The one handle on ClickHouse. Table names in SQL are qualified with `store.database`. */
export interface Store {
  readonly client: ClickHouseClient;
  readonly database: string;
  /** 'embedded' (chDB) or 'server' (HTTP); for logs and health only, never for branching SQL. */
  readonly mode: 'embedded' | 'server';
  readonly config: Readonly<StoreConfig>;
  /** Runs a SELECT and returns its rows (JSONEachRow). Parameters use ClickHouse's `{name:Type}` syntax. */
  query<T>(sql: string, params?: Record<string, unknown>): Promise<T[]>;
  /** Runs a statement that returns no rows (DDL, ALTER, INSERT … SELECT). */
  command(sql: string, params?: Record<string, unknown>): Promise<void>;
  /**
   * Inserts rows (JSONEachRow) into `table` of this database. A retry with the same `dedupToken` does not
   * insert twice; without one each call is its own block.
   */
  insert(table: string, rows: readonly object[], opts?: { dedupToken?: string }): Promise<void>;
  /** Inserts a pre-encoded CSV body (text or UTF-8 bytes) for the given columns (the writer's path; see row-codec.ts). */
  insertCsv(
    table: string,
    columns: readonly string[],
    body: string | Uint8Array,
    dedupToken: string,
  ): Promise<void>;
  /** Columns of each table of the database, as loaded after migrations (or the last refreshSchema). */
  columns(table: string): readonly ColumnInfo[] | undefined;
  refreshSchema(): Promise<void>;
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

/** Tables the store stage creates (others add their own through migrations). */
export const STORE_TABLES = [
  'geofences',
  'segments',
  'campaigns',
  'api_keys',
  'policy',
  'audit_log',
  'consent',
  'decisions',
  'messages',
  'message_events',
  'mo_messages',
  'conversions',
  'footfall_visits',
] as const;
export type StoreTable = (typeof STORE_TABLES)[number];
/** Any table of the database (the writer validates against the live schema). */
export type TableName = StoreTable | (string & {});

export const DEFINITION_TABLES = ['geofences', 'segments', 'campaigns', 'api_keys', 'policy'] as const;
export type DefinitionTable = (typeof DEFINITION_TABLES)[number];
