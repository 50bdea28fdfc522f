/**
 * The HTTP API stage.
 *
 * How to add routes (other stages):
 *   1. Create `src/api/routes/<stage>.ts` exporting a factory that takes your stage's dependencies and
 *      returns `RouteDef[]`:
 *
 *        import { z } from 'zod';
 *        import { AppError, canSee, defineRoute, reply, type RouteDef } from '../kit.ts';
 *        export function campaignRoutes(deps: { campaigns: CampaignService }): RouteDef[] {
 *          return [
 *            defineRoute({
 *              method: 'get', path: '/v1/campaigns/:id', summary: 'One campaign',
 *              roles: ['analyst', 'retailer'],                    // admin is always allowed
 *              params: z.strictObject({ id: z.string().min(1) }), // optional: path params default to strings
 *              query: z.strictObject({ limit: z.coerce.number().int().max(500).default(100) }),
 *              response: campaignSchema,                          // documents the answer in /openapi.json
 *              handler: async ({ params, principal }) => {
 *                const c = await deps.campaigns.get(params.id);
 *                // another tenant's object answers 404, never 403
 *                if (!c || !canSee(principal, c.tenant)) throw new AppError('CAMPAIGN_NOT_FOUND', `no campaign ${params.id}`);
 *                return c;                                        // sent as JSON with `status` (default 200)
 *              },
 *            }),
 *          ];
 *        }
 *   2. Body and query schemas must be strict (`z.strictObject` / `.strict()`): unknown fields are
 *      rejected, and a test walks every route to check it. Never read owner/tenant/status/version from
 *      the body: take the tenant from `tenantForWrite(principal, query.tenant)`.
 *   3. Throw `AppError` with a code from src/errors.ts; the app answers problem+json with the status
 *      from `HTTP_STATUS_BY_CODE` (e.g. *_NOT_FOUND → 404, VERSION_CONFLICT → 409, *_INVALID → 422).
 *   4. Non-JSON bodies (NDJSON, CSV): `rawBody: { contentTypes: ['application/x-ndjson'], limit: '50mb' }`
 *      gives `body` as a Buffer; add `stream: true` to read `req` yourself. Other statuses or headers:
 *      `return reply(202, { accepted }, { headers: { ... } })`.
 *   5. The lead adds your factory's routes to `createApiServer({ routes: [...] })` in main.ts; the
 *      route × role × tenant test matrix and the OpenAPI test pick them up from there.
 */
export { type AppOptions, createApp, type ReadinessCheck } from './app.ts';
export {
  type Authenticator,
  BOOTSTRAP_KEY_ID,
  bearerToken,
  createAuthenticator,
  generateApiKey,
  hashApiKey,
  type StoredKey,
} from './auth.ts';
export { createFenceSync, type FenceSync } from './fence-sync.ts';
export { createHttpMetrics, createMetricsRegistry } from './metrics.ts';
export { buildOpenApiDocument, openApiPath, problemSchema } from './openapi.ts';
export { HTTP_STATUS_BY_CODE, httpStatusOf, type Problem, toProblem, validationError } from './problem.ts';
export { createRateLimiter, type RateLimiter } from './rate-limit.ts';
export { type ApiKeyView, createKeyRing, type KeyRing, resolveAdminKey } from './repos/api-keys.ts';
export {
  type CatalogueImport,
  createGeofenceRepo,
  type GeofenceRepo,
  type StoredFence,
} from './repos/geofences.ts';
export {
  defineRoute,
  type HandlerContext,
  HTTP_METHODS,
  type HttpMethod,
  type Principal,
  type RawBodySpec,
  type Reply,
  ROLES,
  type Role,
  type RouteDef,
  type RouteSpec,
  reply,
} from './route.ts';
export { auditRoutes } from './routes/audit.ts';
export { type GeofenceRouteDeps, geofenceRoutes } from './routes/geofences.ts';
export { apiRoutes } from './routes/index.ts';
export { keyRoutes } from './routes/keys.ts';
export { type ApiServer, createApiServer } from './server.ts';
export { type ApiStage, type ApiStageOptions, createApiStage } from './stage.ts';
export { canSee, tenantForWrite, tenantScope } from './tenancy.ts';
