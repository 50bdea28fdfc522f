import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../../../src/logger.ts';
import { createStore, type DecisionRow, type Store, type StoreConfig } from '../../../src/store/index.ts';

export const logger = createLogger({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

/** One temp data folder per test file (chDB: one data dir per process); tests isolate by database. */
export async function makeDataDir(): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'geotrigger-store-'));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

export function buildStoreConfig(dataDir: string, overrides: Partial<StoreConfig> = {}): StoreConfig {
  return {
    user: 'default',
    password: '',
    database: 'test',
    dataDir,
    ttlDays: 180,
    minGroupSize: 10,
    ...overrides,
  };
}

export function openStore(dataDir: string, overrides: Partial<StoreConfig> = {}): Promise<Store> {
  return createStore({ config: buildStoreConfig(dataDir, overrides), logger });
}

/**
 * Midnight UTC two days ago: recent enough that personal-data TTLs (which drop expired rows even on
 * insert) keep it, fixed within a test run so expected buckets are exact.
 */
export const BASE_MS = Math.floor(Date.now() / 86_400_000) * 86_400_000 - 2 * 86_400_000;
export const HOUR_MS = 3_600_000;

export function buildDecision(overrides: Partial<DecisionRow> = {}): DecisionRow {
  return {
    ts: BASE_MS + 10 * HOUR_MS,
    sid: 'sid-1',
    tenant: 'acme',
    campaign_id: 'c1',
    fence_id: 'f1',
    store_id: 'st1',
    trigger: 'enter',
    outcome: 'sent',
    reason: '',
    message_id: '',
    dwell_ms: 0,
    ...overrides,
  };
}

export async function count(store: Store, table: string, where = '1'): Promise<number> {
  const rows = await store.query<{ n: string }>(
    `SELECT count() AS n FROM ${store.database}.${table} WHERE ${where}`,
  );
  return Number(rows[0].n);
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls until `check` returns true or the time runs out. */
export async function until(
  check: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
  what = 'condition',
): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}
