import { AppError } from '../errors.ts';
import type { DefinitionTable, Store } from './types.ts';

/** One stored version of a definition (geofence, segment, campaign, API key, policy). */
export interface Definition<T> {
  id: string;
  tenant: string;
  version: number;
  deleted: boolean;
  body: T;
  updatedAtMs: number;
  updatedBy: string;
}

export interface ListOptions {
  /** Only this tenant's objects. */
  tenant?: string;
  includeDeleted?: boolean;
  limit?: number;
  offset?: number;
}

export interface Definitions<T> {
  readonly table: DefinitionTable;
  /** The current version, deleted or not; undefined when the id was never written. */
  get(id: string): Promise<Definition<T> | undefined>;
  /** Current versions ordered by id (soft-deleted ones only with includeDeleted). */
  list(opts?: ListOptions): Promise<Definition<T>[]>;
  /** Writes a new version; throws VERSION_CONFLICT when expectedVersion is not the current one (0 = must not exist). */
  put(
    id: string,
    tenant: string,
    body: T,
    opts: { expectedVersion?: number; actor: string },
  ): Promise<number>;
  /** Soft-deletes; throws NOT_FOUND for an unknown or already deleted id. */
  remove(id: string, opts: { expectedVersion?: number; actor: string }): Promise<number>;
}

interface Row {
  id: string;
  tenant: string;
  version: string | number;
  deleted: number;
  body: string;
  updated_at_ms: string | number;
  updated_by: string;
}

function toDefinition<T>(r: Row): Definition<T> {
  return {
    id: r.id,
    tenant: r.tenant,
    version: Number(r.version),
    deleted: Number(r.deleted) === 1,
    body: JSON.parse(r.body) as T,
    updatedAtMs: Number(r.updated_at_ms),
    updatedBy: r.updated_by,
  };
}

/**
 * Versioned definitions with soft delete over one ReplacingMergeTree(version) table. Writes to one id
 * are serialised inside the process; every change also writes an audit_log row.
 */
export function createDefinitions<T>(opts: { store: Store; table: DefinitionTable }): Definitions<T> {
  const { store, table } = opts;
  const t = `${store.database}.${table}`;
  const cols =
    'id, tenant, version, deleted, body, toUnixTimestamp64Milli(updated_at) AS updated_at_ms, updated_by';
  const locks = new Map<string, Promise<unknown>>();

  const serial = <R>(id: string, fn: () => Promise<R>): Promise<R> => {
    const prev = locks.get(id) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const tail = next.catch(() => {});
    locks.set(id, tail);
    void tail.then(() => {
      if (locks.get(id) === tail) locks.delete(id);
    });
    return next;
  };

  const get = async (id: string): Promise<Definition<T> | undefined> => {
    const rows = await store.query<Row>(`SELECT ${cols} FROM ${t} FINAL WHERE id = {id:String} LIMIT 1`, {
      id,
    });
    return rows.length > 0 ? toDefinition<T>(rows[0]) : undefined;
  };

  const write = async (
    id: string,
    tenant: string,
    json: string,
    action: 'create' | 'update' | 'delete',
    before: number,
    actor: string,
  ): Promise<number> => {
    const version = before + 1;
    const nowMs = Date.now();
    const token = `${table}:${id}:${version}`;
    await store.insert(
      table,
      [
        {
          id,
          tenant,
          version,
          deleted: action === 'delete' ? 1 : 0,
          // A deleted version keeps the last body, so includeDeleted lists still show what was removed.
          body: json,
          updated_at: nowMs,
          updated_by: actor,
        },
      ],
      { dedupToken: token },
    );
    await store.insert(
      'audit_log',
      [
        {
          ts: nowMs,
          entity: table,
          entity_id: id,
          tenant,
          action,
          actor,
          version_before: before,
          version_after: version,
          body: action === 'delete' ? '' : json,
        },
      ],
      { dedupToken: `audit:${token}` },
    );
    return version;
  };

  const conflict = (id: string, expected: number, current: number) =>
    new AppError('VERSION_CONFLICT', `${table} ${id} is at version ${current}, not ${expected}`, {
      httpStatus: 409,
      details: { id, expectedVersion: expected, currentVersion: current },
    });

  return {
    table,
    get,
    async list(o = {}) {
      const limit = Math.max(0, Math.min(o.limit ?? 1000, 100_000));
      const offset = Math.max(0, o.offset ?? 0);
      const where: string[] = [];
      if (o.tenant !== undefined) where.push('tenant = {tenant:String}');
      if (!o.includeDeleted) where.push('deleted = 0');
      const rows = await store.query<Row>(
        `SELECT ${cols} FROM ${t} FINAL ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id LIMIT {limit:UInt32} OFFSET {offset:UInt32}`,
        { tenant: o.tenant, limit, offset },
      );
      return rows.map((r) => toDefinition<T>(r));
    },
    put(id, tenant, body, o) {
      return serial(id, async () => {
        const cur = await get(id);
        const current = cur?.version ?? 0;
        if (o.expectedVersion !== undefined && o.expectedVersion !== current) {
          throw conflict(id, o.expectedVersion, current);
        }
        const action = cur && !cur.deleted ? 'update' : 'create';
        return write(id, tenant, JSON.stringify(body), action, current, o.actor);
      });
    },
    remove(id, o) {
      return serial(id, async () => {
        const cur = await get(id);
        if (!cur || cur.deleted) {
          throw new AppError('NOT_FOUND', `${table} ${id} does not exist`, { httpStatus: 404 });
        }
        if (o.expectedVersion !== undefined && o.expectedVersion !== cur.version) {
          throw conflict(id, o.expectedVersion, cur.version);
        }
        return write(id, cur.tenant, JSON.stringify(cur.body), 'delete', cur.version, o.actor);
      });
    },
  };
}
