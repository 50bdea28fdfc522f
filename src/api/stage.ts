import type { Registry } from 'prom-client';
import type { Fence, FenceLimits, Matcher } from '../geo/index.ts';
import type { Logger } from '../logger.ts';
import type { Store } from '../store/index.ts';
import type { ReadinessCheck } from './app.ts';
import { createFenceSync, type FenceSync } from './fence-sync.ts';
import { createKeyRing, type KeyRing, resolveAdminKey } from './repos/api-keys.ts';
import { type CatalogueImport, createGeofenceRepo, type GeofenceRepo } from './repos/geofences.ts';
import type { RouteDef } from './route.ts';
import { apiRoutes } from './routes/index.ts';
import { type ApiServer, createApiServer } from './server.ts';

export interface ApiStageOptions {
  logger: Logger;
  store: Store;
  /** The live matcher: loaded from the store at start, kept current by API writes and the fence sync. */
  matcher: Matcher;
  limits: FenceLimits;
  metricsRegistry: Registry;
  /** ADMIN_API_KEY; unset = the key file under dataDir (generated on first start). */
  adminKey?: string;
  dataDir: string;
  /** Catalogue fences (geofences/ folder) to bring into the store before the matcher is loaded. */
  catalogue?: readonly Fence[];
  /** Other stages' routes. */
  routes?: readonly RouteDef[];
  /** Extra readiness checks (Kafka, SMPP); the store's is added. */
  readiness?: Record<string, ReadinessCheck>;
  bodyLimit?: string | number;
  rateLimitPerMin?: number;
}

export interface ApiStage {
  readonly server: ApiServer;
  readonly keys: KeyRing;
  readonly geofences: GeofenceRepo;
  readonly fenceSync: FenceSync;
  readonly catalogueImport?: CatalogueImport;
  listen(port: number, host?: string): Promise<number>;
  close(): Promise<void>;
}

/**
 * The whole API stage wired in one call for main.ts: bootstrap key, key ring, catalogue import,
 * matcher load from the store, fence sync across instances, and the HTTP server with every route.
 */
export async function createApiStage(opts: ApiStageOptions): Promise<ApiStage> {
  const { logger, store, matcher, limits } = opts;
  const adminKey = await resolveAdminKey({ configured: opts.adminKey, dataDir: opts.dataDir, logger });
  const keys = createKeyRing({ store, logger, adminKey });
  await keys.start();
  const geofences = createGeofenceRepo({ store, limits, logger });
  const catalogueImport = opts.catalogue ? await geofences.importCatalogue(opts.catalogue) : undefined;
  // Changes stored from now on are applied by the sync; the snapshot below covers everything before.
  const sinceMs = Date.now();
  const loaded: { id: string; version: number; updatedAtMs: number }[] = [];
  matcher.replaceAll(
    await geofences.all((id, version, updatedAtMs) => {
      if (updatedAtMs >= sinceMs - 60_000) loaded.push({ id, version, updatedAtMs });
    }),
  );
  const fenceSync = createFenceSync({ geofences, matcher, logger, sinceMs, loaded });
  fenceSync.start();
  const server = createApiServer({
    logger,
    auth: keys.authenticator,
    metricsRegistry: opts.metricsRegistry,
    routes: [...apiRoutes({ store, keys, geofences, limits, matcher }), ...(opts.routes ?? [])],
    readiness: { store: () => store.ping(), ...opts.readiness },
    bodyLimit: opts.bodyLimit,
    rateLimitPerMin: opts.rateLimitPerMin,
  });
  logger
    .child({ stage: 'api' })
    .info({ fences: matcher.size, keys: keys.size, catalogue: catalogueImport }, 'API stage ready');
  return {
    server,
    keys,
    geofences,
    fenceSync,
    catalogueImport,
    listen: (port, host) => server.listen(port, host),
    async close() {
      fenceSync.stop();
      keys.stop();
      await server.close();
    },
  };
}
