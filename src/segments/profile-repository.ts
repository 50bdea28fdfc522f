import type { Readable } from 'node:stream';
import type { Logger } from '../logger.ts';
import type { Store } from '../store/index.ts';
import { type LoadResult, loadProfilesCsv, loadProfilesNdjson } from './loaders.ts';
import type { ProfileStore } from './profile-store.ts';
import { deletionRow, profileToRow } from './sql-schema.ts';

export type ProfileFormat = 'ndjson' | 'csv';

export interface ProfileRepository {
  /** Loads every live row of the `subscribers` table into the in-memory store (restart reload). */
  reload(): Promise<LoadResult>;
  /** Streams a CSV/NDJSON upload into memory and persists the accepted rows to `subscribers`. */
  import(input: Readable | AsyncIterable<string | Buffer>, format: ProfileFormat): Promise<LoadResult>;
  /** Upserts one profile in memory and in the table (throws PROFILE_ROW_INVALID on a bad value). */
  upsert(sid: string, attrs: Record<string, unknown>): Promise<void>;
  /** Deletes in memory and in the table; false when the sid was unknown. */
  delete(sid: string): Promise<boolean>;
  /** Writes the current in-memory profiles of these sids to the table. */
  persist(sids: readonly string[]): Promise<void>;
}

export interface ProfileRepositoryOptions {
  store: Store;
  profiles: ProfileStore;
  logger: Logger;
  /** Rows per insert when persisting and per page when reloading. Default 10,000. */
  batchSize?: number;
  clock?: () => number;
}

/**
 * Keeps the in-memory profile store and ClickHouse's `subscribers` table in step: imports write both,
 * a restart reloads memory from the table.
 */
export function createProfileRepository(options: ProfileRepositoryOptions): ProfileRepository {
  const { store, profiles } = options;
  const logger = options.logger.child({ stage: 'segments' });
  const batchSize = options.batchSize ?? 10_000;
  const clock = options.clock ?? Date.now;
  let lastVersion = 0;
  // updated_at is the row version: strictly increasing within the process, so a later write always wins
  const version = () => {
    lastVersion = Math.max(clock(), lastVersion + 1);
    return lastVersion;
  };
  const table = `${store.database}.subscribers`;
  const columns = ['sid', ...profiles.catalogue.map((a) => a.name)];

  const rowsOf = (sids: readonly string[]) => {
    const now = version();
    const rows: Record<string, unknown>[] = [];
    for (const sid of sids) {
      const slot = profiles.slotOf(sid);
      rows.push(slot < 0 ? deletionRow(sid, now) : profileToRow(sid, profiles.decodeSlot(slot), now));
    }
    return rows;
  };

  const persist = async (sids: readonly string[]) => {
    for (let i = 0; i < sids.length; i += batchSize) {
      await store.insert('subscribers', rowsOf(sids.slice(i, i + batchSize)));
    }
  };

  return {
    async reload() {
      const result: LoadResult = { loaded: 0, rejected: 0, errors: [] };
      let after = '';
      for (;;) {
        // keyset paging over the sort key keeps each page cheap and the memory bounded
        const rows = await store.query<Record<string, unknown>>(
          `SELECT ${columns.join(', ')} FROM ${table} FINAL WHERE is_deleted = 0 AND sid > {after:String} ORDER BY sid LIMIT {limit:UInt32}`,
          { after, limit: batchSize },
        );
        for (const row of rows) {
          try {
            profiles.upsert(row.sid as string, row);
            result.loaded++;
          } catch (err) {
            result.rejected++;
            if (result.errors.length < 100)
              result.errors.push({ line: result.loaded + result.rejected, message: (err as Error).message });
          }
        }
        if (rows.length < batchSize) break;
        after = rows[rows.length - 1].sid as string;
      }
      logger.info(
        { loaded: result.loaded, rejected: result.rejected },
        'subscriber profiles reloaded from the store',
      );
      return result;
    },
    async import(input, format) {
      let pending: string[] = [];
      const onLoaded = async (sid: string) => {
        pending.push(sid);
        if (pending.length >= batchSize) {
          const batch = pending;
          pending = [];
          await persist(batch);
        }
      };
      const result =
        format === 'csv'
          ? await loadProfilesCsv(input, profiles, { onLoaded })
          : await loadProfilesNdjson(input, profiles, { onLoaded });
      await persist(pending);
      logger.info(
        { format, loaded: result.loaded, rejected: result.rejected },
        'subscriber profiles imported',
      );
      return result;
    },
    async upsert(sid, attrs) {
      profiles.upsert(sid, attrs);
      await persist([sid]);
    },
    async delete(sid) {
      if (!profiles.delete(sid)) return false;
      await store.insert('subscribers', [deletionRow(sid, version())]);
      return true;
    },
    persist,
  };
}
