// What a route file under src/api/routes/ needs, in one import (index.ts would be circular for them).
export { AppError, isAppError } from '../errors.ts';
export { createHttpMetrics } from './metrics.ts';
export { type Page, pageQuerySchema, pageSchema } from './pagination.ts';
export { validationError } from './problem.ts';
export {
  defineRoute,
  type HandlerContext,
  type Principal,
  type Reply,
  type Role,
  type RouteDef,
  reply,
} from './route.ts';
export { canSee, tenantForWrite, tenantScope } from './tenancy.ts';
