import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type ApiServer,
  apiRoutes,
  createApiServer,
  createGeofenceRepo,
  createKeyRing,
  createMetricsRegistry,
  type GeofenceRepo,
  type KeyRing,
  type Role,
  type RouteDef,
} from '../../../src/api/index.ts';
import {
  createMatcher,
  DEFAULT_FENCE_LIMITS,
  type FenceLimits,
  type GeoMatcher,
} from '../../../src/geo/index.ts';
import { createLogger } from '../../../src/logger.ts';
import { createStore, type Store } from '../../../src/store/index.ts';

export const logger = createLogger({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
export const ADMIN_KEY = 'test-admin-key-0123456789abcdef';
export const TENANTS = ['acme', 'globex'] as const;

/** The callers of the matrix: every role, retailers of two tenants, and no key at all. */
export type Caller = 'none' | 'admin' | 'analyst' | 'viewer' | 'ingest' | 'retailerA' | 'retailerB';
export const CALLERS: readonly Caller[] = [
  'none',
  'admin',
  'analyst',
  'viewer',
  'ingest',
  'retailerA',
  'retailerB',
];
export function roleOf(caller: Caller): Role | undefined {
  if (caller === 'none') return undefined;
  return caller.startsWith('retailer') ? 'retailer' : (caller as Role);
}

export interface Harness {
  url: string;
  store: Store;
  keys: KeyRing;
  geofences: GeofenceRepo;
  matcher: GeoMatcher;
  server: ApiServer;
  routes: RouteDef[];
  tokens: Record<Exclude<Caller, 'none'>, string>;
  keyIds: Record<Exclude<Caller, 'none'>, string>;
  call(method: string, path: string, opts?: CallOptions): Promise<Answer>;
  close(): Promise<void>;
}

export interface CallOptions {
  as?: Caller;
  json?: unknown;
  body?: string | Buffer;
  headers?: Record<string, string>;
}

export interface Answer {
  status: number;
  headers: Headers;
  text: string;
  json: any;
  ms: number;
}

/** A running API over the embedded store in a temp data dir, with one key per caller. */
export async function startHarness(
  opts: { rateLimitPerMin?: number; limits?: FenceLimits; bodyLimit?: string; extraRoutes?: RouteDef[] } = {},
): Promise<Harness> {
  const dir = await mkdtemp(join(tmpdir(), 'geotrigger-api-'));
  const store = await createStore({
    config: { user: 'default', password: '', database: 'api', dataDir: dir, ttlDays: 30, minGroupSize: 10 },
    logger,
  });
  const limits = opts.limits ?? { ...DEFAULT_FENCE_LIMITS, maxVertices: 5000 };
  const keys = createKeyRing({ store, logger, adminKey: ADMIN_KEY, refreshMs: 60_000 });
  await keys.start();
  const geofences = createGeofenceRepo({ store, limits, logger });
  const matcher = createMatcher({ fences: [] });
  const routes = [...apiRoutes({ store, keys, geofences, limits, matcher }), ...(opts.extraRoutes ?? [])];
  const server = createApiServer({
    logger,
    auth: keys.authenticator,
    routes,
    readiness: { store: () => store.ping() },
    metricsRegistry: createMetricsRegistry(),
    bodyLimit: opts.bodyLimit ?? '1mb',
    rateLimitPerMin: opts.rateLimitPerMin ?? 1_000_000,
    validateResponses: true,
  });
  const port = await server.listen(0, '127.0.0.1');
  const url = `http://127.0.0.1:${port}`;

  const make = async (role: Role, tenant?: string) =>
    keys.create({ name: `test ${role} ${tenant ?? ''}`, role, tenant }, 'test');
  const made = {
    analyst: await make('analyst'),
    viewer: await make('viewer'),
    ingest: await make('ingest'),
    retailerA: await make('retailer', TENANTS[0]),
    retailerB: await make('retailer', TENANTS[1]),
  };
  const tokens = {
    admin: ADMIN_KEY,
    ...Object.fromEntries(Object.entries(made).map(([k, v]) => [k, v.token])),
  } as Harness['tokens'];
  const keyIds = {
    admin: 'bootstrap-admin',
    ...Object.fromEntries(Object.entries(made).map(([k, v]) => [k, v.key.keyId])),
  } as Harness['keyIds'];

  const call = async (method: string, path: string, o: CallOptions = {}): Promise<Answer> => {
    const headers: Record<string, string> = { ...o.headers };
    if (o.as && o.as !== 'none') headers.authorization = `Bearer ${tokens[o.as]}`;
    let body: string | Buffer | undefined = o.body;
    if (o.json !== undefined) {
      body = JSON.stringify(o.json);
      headers['content-type'] ??= 'application/json';
    }
    const start = performance.now();
    const res = await rawRequest(url + path, method, headers, body);
    const text = res.body.toString('utf8');
    const ms = performance.now() - start;
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    return { status: res.status, headers: res.headers, text, json, ms };
  };

  return {
    url,
    store,
    keys,
    geofences,
    matcher,
    server,
    routes,
    tokens,
    keyIds,
    call,
    async close() {
      keys.stop();
      await server.close();
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A square polygon fence around (lon, lat), `sizeDeg` wide. */
export function buildFence(
  overrides: {
    id?: string;
    tenant?: string;
    lon?: number;
    lat?: number;
    sizeDeg?: number;
    tags?: string[];
    name?: string;
  } = {},
) {
  const lon = overrides.lon ?? 30.5;
  const lat = overrides.lat ?? 50.45;
  const d = (overrides.sizeDeg ?? 0.002) / 2;
  const properties: Record<string, unknown> = {
    name: overrides.name ?? 'Store',
    storeId: 'st-1',
    tags: overrides.tags ?? ['mall'],
  };
  if (overrides.id !== undefined) properties.id = overrides.id;
  if (overrides.tenant !== undefined) properties.tenant = overrides.tenant;
  return {
    type: 'Feature',
    geometry: {
      type: 'Polygon',
      coordinates: [
        [
          [lon - d, lat - d],
          [lon + d, lat - d],
          [lon + d, lat + d],
          [lon - d, lat + d],
          [lon - d, lat - d],
        ],
      ],
    },
    properties,
  };
}

/** A small seeded PRNG (mulberry32), so random data can be replayed from the printed seed. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** node:http rather than fetch: any method may carry a body, and headers go out exactly as given. */
function rawRequest(
  url: string,
  method: string,
  headers: Record<string, string>,
  body: string | Buffer | undefined,
): Promise<{ status: number; headers: Headers; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const all =
      body === undefined ? headers : { 'content-length': String(Buffer.byteLength(body)), ...headers };
    const req = request(url, { method, headers: all, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const h = new Headers();
        for (const [k, v] of Object.entries(res.headers))
          if (v !== undefined) h.set(k, Array.isArray(v) ? v.join(', ') : v);
        resolve({ status: res.statusCode ?? 0, headers: h, body: Buffer.concat(chunks) });
      });
      res.on('error', reject);
    });
    // A server may answer (413, 415) before reading the whole body and close: that answer still counts.
    req.on('error', reject);
    if (body !== undefined) req.end(body);
    else req.end();
  });
}
