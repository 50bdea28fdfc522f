import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { type ClickHouseClient, type ClickHouseSettings, createClient } from '@clickhouse/client';
import { createChdbConnection } from 'chdb/connection';
import { AppError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { applyMigrations, type Migration } from './migrate.ts';
import type { ColumnInfo, Store, StoreConfig } from './types.ts';

type ClientConnection = NonNullable<NonNullable<Parameters<typeof createClient>[0]>['connection']>;

const IDENT_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

// Every request carries these. chDB applies settings as session-level SETs that outlive the
// statement, so a dedup token left over from one insert would silently swallow the next one;
// resetting it on every request keeps the embedded and server modes identical.
const DEFAULT_SETTINGS: ClickHouseSettings = {
  insert_deduplication_token: '',
  // A retried block that is deduplicated must not be counted again by the report views.
  deduplicate_blocks_in_dependent_materialized_views: 1,
  date_time_input_format: 'best_effort',
  // Counts come back as JSON numbers from both the server and chDB (the server quotes them by default).
  output_format_json_quote_64bit_integers: 0,
};

/** Personal-data tables and the column their TTL counts from; re-applied when PERSONAL_DATA_TTL_DAYS changes. */
const TTL_TABLES: Record<string, string> = {
  decisions: 'ts',
  messages: 'created_at',
  message_events: 'ts',
  mo_messages: 'ts',
  conversions: 'ts',
};

/** Inserts a pre-encoded CSV body; the one place the two modes differ (how the bytes travel). */
type CsvInserter = (
  table: string,
  columns: readonly string[],
  body: string | Uint8Array,
  settings: Record<string, string | number>,
) => Promise<void>;

interface ChdbRawInsert {
  chdb: {
    rawInsert(params: {
      table: string;
      columns: readonly string[];
      values: Uint8Array | string;
      format: 'CSV';
      settings: Record<string, string | number>;
    }): Promise<unknown>;
  };
}

function connect(config: StoreConfig): {
  client: ClickHouseClient;
  mode: 'embedded' | 'server';
  insertCsv: CsvInserter;
} {
  if (config.url) {
    const client = createClient({
      url: config.url,
      username: config.user,
      password: config.password,
      clickhouse_settings: DEFAULT_SETTINGS,
      request_timeout: 30_000,
    });
    return {
      mode: 'server',
      client,
      // The body travels as the statement's inline data over HTTP.
      insertCsv: async (table, columns, body, settings) => {
        const text =
          typeof body === 'string'
            ? body
            : Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8');
        await client.command({
          query: `INSERT INTO ${table} (${columns.join(', ')}) FORMAT CSV\n${text}`,
          clickhouse_settings: settings,
        });
      },
    };
  }
  const path = resolve(config.dataDir, 'clickhouse');
  mkdirSync(path, { recursive: true });
  try {
    // chDB implements the client's Connection contract, typed against its own copy of client-common.
    const chdb = createChdbConnection({ path });
    const connection = chdb as unknown as ClientConnection;
    const raw = (chdb as unknown as ChdbRawInsert).chdb;
    return {
      mode: 'embedded',
      client: createClient({ connection, clickhouse_settings: DEFAULT_SETTINGS }),
      // The body goes to chDB as bytes for its native, multithreaded parser, instead of being glued
      // into one SQL string that the single-threaded query parser reads as inline data. chDB keeps
      // settings for the session, so every insert states all of its own: the client's defaults
      // (which raw inserts skip) and this insert's.
      insertCsv: async (table, columns, body, settings) => {
        await raw.rawInsert({
          table,
          columns,
          values: typeof body === 'string' ? Buffer.from(body) : body,
          format: 'CSV',
          settings: { ...(DEFAULT_SETTINGS as Record<string, string | number>), ...settings },
        });
      },
    };
  } catch (err) {
    throw new AppError('STORE_UNAVAILABLE', `cannot open embedded ClickHouse under ${path}`, {
      cause: err,
      retriable: false,
    });
  }
}

function queryError(err: unknown, sql: string): AppError {
  if (err instanceof AppError) return err;
  const e = err as { code?: string; message?: string };
  const msg = e?.message ?? String(err);
  // Network-level failures (server down) are retriable; anything ClickHouse answered is not.
  const network = /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|socket hang up|Timeout error|closed/i.test(msg);
  const head = sql.replace(/\s+/g, ' ').slice(0, 120);
  return new AppError(network ? 'STORE_UNAVAILABLE' : 'STORE_QUERY_FAILED', `${msg} (in: ${head})`, {
    cause: err,
    retriable: network,
  });
}

/**
 * Connects to ClickHouse (a server over HTTP when `config.url` is set, embedded chDB under
 * `config.dataDir` otherwise), creates the database and applies the migrations.
 */
export async function createStore(opts: {
  config: StoreConfig;
  logger: Logger;
  /** Tests pass their own list; default: every file in src/store/migrations. */
  migrations?: readonly Migration[];
}): Promise<Store> {
  const config = Object.freeze({ ...opts.config });
  const logger = opts.logger.child({ stage: 'store' });
  if (!IDENT_RE.test(config.database)) {
    throw new AppError('CONFIG_INVALID', `CLICKHOUSE_DATABASE must be an identifier, got ${config.database}`);
  }
  const db = config.database;
  const { client, mode, insertCsv } = connect(config);
  let schema = new Map<string, ColumnInfo[]>();

  const query = async <T>(sql: string, params?: Record<string, unknown>): Promise<T[]> => {
    try {
      const rs = await client.query({ query: sql, query_params: params, format: 'JSONEachRow' });
      return await rs.json<T>();
    } catch (err) {
      throw queryError(err, sql);
    }
  };
  const command = async (sql: string, params?: Record<string, unknown>): Promise<void> => {
    try {
      await client.command({ query: sql, query_params: params });
    } catch (err) {
      throw queryError(err, sql);
    }
  };
  const checkTable = (table: string) => {
    if (!IDENT_RE.test(table)) throw new AppError('STORE_QUERY_FAILED', `not a table name: ${table}`);
  };

  const store: Store = {
    client,
    database: db,
    mode,
    config,
    query,
    command,
    async insert(table, rows, insertOpts) {
      checkTable(table);
      if (rows.length === 0) return;
      try {
        await client.insert({
          table: `${db}.${table}`,
          values: rows as object[],
          format: 'JSONEachRow',
          clickhouse_settings: { insert_deduplication_token: insertOpts?.dedupToken ?? randomUUID() },
        });
      } catch (err) {
        throw queryError(err, `INSERT INTO ${db}.${table}`);
      }
    },
    async insertCsv(table, columns, body, dedupToken) {
      checkTable(table);
      try {
        await insertCsv(`${db}.${table}`, columns, body, {
          insert_deduplication_token: dedupToken,
          input_format_csv_empty_as_default: 1,
          format_csv_allow_single_quotes: 0,
        });
      } catch (err) {
        throw queryError(err, `INSERT INTO ${db}.${table}`);
      }
    },
    columns: (table) => schema.get(table),
    async refreshSchema() {
      const rows = await query<{ table: string; name: string; type: string; default_kind: string }>(
        'SELECT table, name, type, default_kind FROM system.columns WHERE database = {db:String} ORDER BY table, position',
        { db },
      );
      const next = new Map<string, ColumnInfo[]>();
      for (const r of rows) {
        let cols = next.get(r.table);
        if (!cols) {
          cols = [];
          next.set(r.table, cols);
        }
        cols.push({ name: r.name, type: r.type, defaultKind: r.default_kind });
      }
      schema = next;
    },
    async ping() {
      try {
        const r = await client.ping();
        return r.success;
      } catch {
        return false;
      }
    },
    async close() {
      await client.close();
    },
  };

  try {
    await command(`CREATE DATABASE IF NOT EXISTS ${db}`);
    await applyMigrations({
      runner: { command, query },
      vars: { db, ttlDays: config.ttlDays, minGroupSize: config.minGroupSize },
      logger,
      migrations: opts.migrations,
    });
    await applyTtl(store, config.ttlDays, logger);
    await store.refreshSchema();
  } catch (err) {
    await client.close().catch(() => {});
    throw err;
  }
  logger.info({ mode, database: db }, 'store ready');
  return store;
}

/** Makes the personal-data TTLs match the configured days (migrations ran with whatever value was set then). */
async function applyTtl(store: Store, ttlDays: number, logger: Logger): Promise<void> {
  const tables = await store.query<{ name: string; create_table_query: string }>(
    'SELECT name, create_table_query FROM system.tables WHERE database = {db:String} AND name IN {names:Array(String)}',
    { db: store.database, names: Object.keys(TTL_TABLES) },
  );
  for (const t of tables) {
    if (t.create_table_query.includes(`toIntervalDay(${ttlDays})`)) continue;
    const col = TTL_TABLES[t.name];
    await store.command(
      `ALTER TABLE ${store.database}.${t.name} MODIFY TTL toDateTime(${col}) + toIntervalDay(${ttlDays})`,
    );
    logger.info({ table: t.name, ttlDays }, 'personal-data TTL updated');
  }
}
