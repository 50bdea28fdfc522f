import { randomUUID } from 'node:crypto';
import { AppError, isAppError } from '../../errors.ts';
import { type BBox, type Fence, type FenceLimits, fenceToFeature, validateFence } from '../../geo/index.ts';
import type { Logger } from '../../logger.ts';
import { createDefinitions, type Store } from '../../store/index.ts';

/** A fence as stored (the definition body) and answered: a GeoJSON Feature with its bbox. */
export type FenceFeature = ReturnType<typeof fenceToFeature> & { bbox: BBox };

export interface StoredFence {
  id: string;
  tenant: string;
  version: number;
  deleted: boolean;
  feature: FenceFeature;
  updatedAtMs: number;
  updatedBy: string;
}

export interface FenceListFilter {
  tenant?: string;
  tag?: string;
  /** Fences whose bounding box intersects this one (no antimeridian wrap). */
  bbox?: BBox;
  /** Keyset pagination: ids strictly after this one. */
  afterId?: string;
  limit: number;
}

/** One changed fence: its id and stored version, and the fence itself unless it was removed. */
export interface FenceChange {
  id: string;
  version: number;
  fence?: Fence;
}

export type BulkMode = 'create' | 'upsert';

export interface BulkWriteResult {
  id: string;
  status: 'created' | 'replaced' | 'conflict';
  version?: number;
  message?: string;
}

export interface GeofenceRepo {
  get(id: string): Promise<StoredFence | undefined>;
  list(filter: FenceListFilter): Promise<StoredFence[]>;
  /**
   * Every live fence, revalidated against the current limits (for the matcher at start-up);
   * `onRow` hears each row's id, version and write time (the fence sync skips what this load applied).
   */
  all(onRow?: (id: string, version: number, updatedAtMs: number) => void): Promise<Fence[]>;
  /** Fences changed (written or deleted) after `sinceMs`, for keeping other instances' matchers current. */
  /**
   * Fences written after `sinceMs`. `known(id, version)` true skips a change already applied: only its
   * id, version and time are read, so re-reading an overlap window stays cheap however big it is.
   */
  changedSince(
    sinceMs: number,
    known?: (id: string, version: number) => boolean,
  ): Promise<{ upserts: FenceChange[]; removed: FenceChange[]; untilMs: number }>;
  /** Writes a new version; expectedVersion 0 = must not exist. Stale → VERSION_CONFLICT. */
  put(fence: Fence, opts: { expectedVersion: number; actor: string }): Promise<number>;
  remove(id: string, opts: { expectedVersion?: number; actor: string }): Promise<number>;
  /**
   * Writes many fences of one tenant in two inserts (rows + audit rows). `create` refuses ids that
   * exist; `upsert` replaces the tenant's own fences. An id held by another tenant is always a conflict.
   */
  bulkWrite(
    fences: readonly Fence[],
    opts: { tenant: string; mode: BulkMode; actor: string },
  ): Promise<BulkWriteResult[]>;
  /**
   * Brings catalogue fences (the `geofences/` folder) into the store: new or changed fences are
   * written (one version + audit row each), unchanged ones are left alone, fences deleted through the
   * API stay deleted, ids held by another tenant are reported. Run at start-up before `all()`.
   */
  importCatalogue(fences: readonly Fence[], actor?: string): Promise<CatalogueImport>;
}

export interface CatalogueImport {
  written: number;
  unchanged: number;
  /** Ids deleted through the API: not resurrected from the file. */
  keptDeleted: string[];
  /** Ids owned by another tenant in the store. */
  conflicts: string[];
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

const COLS =
  'id, tenant, version, deleted, body, toUnixTimestamp64Milli(updated_at) AS updated_at_ms, updated_by';

function toStored(r: Row): StoredFence {
  return {
    id: r.id,
    tenant: r.tenant,
    version: Number(r.version),
    deleted: Number(r.deleted) === 1,
    feature: JSON.parse(r.body) as FenceFeature,
    updatedAtMs: Number(r.updated_at_ms),
    updatedBy: r.updated_by,
  };
}

/** The stored form of a fence. */
export function fenceFeature(fence: Fence): FenceFeature {
  return { ...fenceToFeature(fence), bbox: fence.bbox };
}

/**
 * Geofences in the store's `geofences` definitions table. Single writes go through the store's
 * definitions (per-id serialisation, optimistic concurrency, audit rows); filtered reads and bulk
 * imports query the table directly.
 */
export function createGeofenceRepo(opts: {
  store: Store;
  limits: FenceLimits;
  logger: Logger;
}): GeofenceRepo {
  const { store, limits } = opts;
  const logger = opts.logger.child({ stage: 'api', component: 'geofences' });
  const defs = createDefinitions<FenceFeature>({ store, table: 'geofences' });
  const table = `${store.database}.geofences`;

  const revalidate = (s: StoredFence): Fence | undefined => {
    try {
      return validateFence(s.feature, limits, `"${s.id}"`);
    } catch (err) {
      if (!isAppError(err, 'GEOFENCE_INVALID')) throw err;
      // Limits may have been lowered since the fence was stored: it stays stored but is not matched.
      logger.warn({ fenceId: s.id, err: err.message }, 'stored geofence no longer valid; not loaded');
      return undefined;
    }
  };

  const repo: GeofenceRepo = {
    async get(id) {
      const d = await defs.get(id);
      return d
        ? {
            id: d.id,
            tenant: d.tenant,
            version: d.version,
            deleted: d.deleted,
            feature: d.body,
            updatedAtMs: d.updatedAtMs,
            updatedBy: d.updatedBy,
          }
        : undefined;
    },
    async list(f) {
      const where = ['deleted = 0'];
      const params: Record<string, unknown> = { limit: f.limit };
      if (f.tenant !== undefined) {
        where.push('tenant = {tenant:String}');
        params.tenant = f.tenant;
      }
      if (f.tag !== undefined) {
        where.push("has(JSONExtract(body, 'properties', 'tags', 'Array(String)'), {tag:String})");
        params.tag = f.tag;
      }
      if (f.bbox) {
        where.push(
          "JSONExtract(body, 'bbox', 1, 'Float64') <= {maxLon:Float64} AND JSONExtract(body, 'bbox', 3, 'Float64') >= {minLon:Float64}",
          "JSONExtract(body, 'bbox', 2, 'Float64') <= {maxLat:Float64} AND JSONExtract(body, 'bbox', 4, 'Float64') >= {minLat:Float64}",
        );
        [params.minLon, params.minLat, params.maxLon, params.maxLat] = f.bbox;
      }
      if (f.afterId !== undefined) {
        where.push('id > {afterId:String}');
        params.afterId = f.afterId;
      }
      const rows = await store.query<Row>(
        `SELECT ${COLS} FROM ${table} FINAL WHERE ${where.join(' AND ')} ORDER BY id LIMIT {limit:UInt32}`,
        params,
      );
      return rows.map(toStored);
    },
    async all(onRow) {
      const out: Fence[] = [];
      let afterId = '';
      for (;;) {
        const rows = await store.query<Row>(
          `SELECT ${COLS} FROM ${table} FINAL WHERE deleted = 0 AND id > {afterId:String} ORDER BY id LIMIT 10000`,
          { afterId },
        );
        for (const r of rows) {
          const stored = toStored(r);
          onRow?.(stored.id, stored.version, stored.updatedAtMs);
          const fence = revalidate(stored);
          if (fence) out.push(fence);
        }
        if (rows.length < 10_000) return out;
        afterId = rows[rows.length - 1].id;
      }
    },
    async changedSince(sinceMs, known) {
      const heads = await store.query<{
        id: string;
        version: string | number;
        updated_at_ms: string | number;
      }>(
        `SELECT id, version, toUnixTimestamp64Milli(updated_at) AS updated_at_ms FROM ${table} FINAL WHERE updated_at > fromUnixTimestamp64Milli({since:Int64})`,
        { since: sinceMs },
      );
      let untilMs = sinceMs;
      const wanted: string[] = [];
      for (const h of heads) {
        untilMs = Math.max(untilMs, Number(h.updated_at_ms));
        if (!known?.(h.id, Number(h.version))) wanted.push(h.id);
      }
      const upserts: FenceChange[] = [];
      const removed: FenceChange[] = [];
      for (let i = 0; i < wanted.length; i += 10_000) {
        const rows = await store.query<Row>(
          `SELECT ${COLS} FROM ${table} FINAL WHERE id IN {ids:Array(String)} ORDER BY updated_at`,
          { ids: wanted.slice(i, i + 10_000) },
        );
        for (const r of rows) {
          const s = toStored(r);
          untilMs = Math.max(untilMs, s.updatedAtMs);
          const fence = s.deleted ? undefined : revalidate(s);
          if (fence) upserts.push({ id: s.id, version: s.version, fence });
          else removed.push({ id: s.id, version: s.version });
        }
      }
      return { upserts, removed, untilMs };
    },
    put(fence, o) {
      return defs.put(fence.props.id, fence.props.tenant, fenceFeature(fence), o);
    },
    remove(id, o) {
      return defs.remove(id, o);
    },
    async bulkWrite(fences, o) {
      if (fences.length === 0) return [];
      const ids = fences.map((f) => f.props.id);
      const existing = await store.query<{
        id: string;
        tenant: string;
        version: string | number;
        deleted: number;
      }>(`SELECT id, tenant, version, deleted FROM ${table} FINAL WHERE id IN {ids:Array(String)}`, { ids });
      const byId = new Map(existing.map((e) => [e.id, e]));
      const nowMs = Date.now();
      const rows: object[] = [];
      const audit: object[] = [];
      const results: BulkWriteResult[] = [];
      for (const fence of fences) {
        const id = fence.props.id;
        const cur = byId.get(id);
        const before = cur ? Number(cur.version) : 0;
        const live = cur !== undefined && Number(cur.deleted) === 0;
        if (cur && cur.tenant !== o.tenant) {
          results.push({ id, status: 'conflict', message: `geofence id "${id}" is taken` });
          continue;
        }
        if (live && o.mode === 'create') {
          results.push({ id, status: 'conflict', message: `geofence "${id}" exists (version ${before})` });
          continue;
        }
        const json = JSON.stringify(fenceFeature(fence));
        const version = before + 1;
        rows.push({
          id,
          tenant: o.tenant,
          version,
          deleted: 0,
          body: json,
          updated_at: nowMs,
          updated_by: o.actor,
        });
        audit.push({
          ts: nowMs,
          entity: 'geofences',
          entity_id: id,
          tenant: o.tenant,
          action: live ? 'update' : 'create',
          actor: o.actor,
          version_before: before,
          version_after: version,
          body: json,
        });
        results.push({ id, status: live ? 'replaced' : 'created', version });
      }
      if (rows.length > 0) {
        const token = randomUUID();
        await store.insert('geofences', rows, { dedupToken: `geofences:bulk:${token}` });
        await store.insert('audit_log', audit, { dedupToken: `audit:geofences:bulk:${token}` });
      }
      return results;
    },
    async importCatalogue(fences, actor = 'catalogue') {
      const out: CatalogueImport = { written: 0, unchanged: 0, keptDeleted: [], conflicts: [] };
      const stored = new Map<string, { tenant: string; deleted: number; body: string }>();
      for (let i = 0; i < fences.length; i += 10_000) {
        const ids = fences.slice(i, i + 10_000).map((f) => f.props.id);
        const rows = await store.query<{ id: string; tenant: string; deleted: number; body: string }>(
          `SELECT id, tenant, deleted, body FROM ${table} FINAL WHERE id IN {ids:Array(String)}`,
          { ids },
        );
        for (const r of rows) stored.set(r.id, r);
      }
      const changedByTenant = new Map<string, Fence[]>();
      for (const fence of fences) {
        const cur = stored.get(fence.props.id);
        if (cur && cur.tenant !== fence.props.tenant) {
          out.conflicts.push(fence.props.id);
          continue;
        }
        if (cur && Number(cur.deleted) === 1) {
          out.keptDeleted.push(fence.props.id);
          continue;
        }
        if (cur && cur.body === JSON.stringify(fenceFeature(fence))) {
          out.unchanged++;
          continue;
        }
        const list = changedByTenant.get(fence.props.tenant) ?? [];
        list.push(fence);
        changedByTenant.set(fence.props.tenant, list);
      }
      for (const [tenant, list] of changedByTenant) {
        const results = await repo.bulkWrite(list, { tenant, mode: 'upsert', actor });
        for (const r of results) {
          if (r.status === 'conflict') out.conflicts.push(r.id);
          else out.written++;
        }
      }
      if (out.conflicts.length > 0) {
        logger.warn(
          { ids: out.conflicts.slice(0, 20) },
          'catalogue geofence ids owned by another tenant; not imported',
        );
      }
      return out;
    },
  };
  return repo;
}

/** A fresh geofence id for features that bring none. */
export function newFenceId(): string {
  return `gf_${randomUUID().replace(/-/g, '').slice(0, 16)}`;
}

export function assertFenceTenant(
  stored: StoredFence | undefined,
  id: string,
  visible: (tenant: string) => boolean,
): StoredFence {
  if (!stored || stored.deleted || !visible(stored.tenant)) {
    throw new AppError('GEOFENCE_NOT_FOUND', `no geofence "${id}"`);
  }
  return stored;
}
