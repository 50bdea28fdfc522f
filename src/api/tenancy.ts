import { AppError } from '../errors.ts';
import type { Principal } from './route.ts';

/**
 * The tenant a principal is confined to: a retailer's own tenant, or undefined for operator roles
 * (admin, analyst, viewer), which see all tenants.
 */
export function tenantScope(principal: Principal): string | undefined {
  if (principal.role !== 'retailer') return undefined;
  if (!principal.tenant) throw new AppError('FORBIDDEN', 'this retailer key is bound to no tenant');
  return principal.tenant;
}

/** True when the principal may see an object owned by `tenant`. */
export function canSee(principal: Principal, tenant: string): boolean {
  const scope = tenantScope(principal);
  return scope === undefined || scope === tenant;
}

/**
 * The tenant a new or changed object belongs to. A retailer's key decides it (naming another tenant
 * answers 404, as if it did not exist); operator roles must name it explicitly.
 */
export function tenantForWrite(principal: Principal, requested: string | undefined, what = 'tenant'): string {
  const scope = tenantScope(principal);
  if (scope !== undefined) {
    if (requested !== undefined && requested !== scope) {
      throw new AppError('NOT_FOUND', `no ${what} '${requested}' visible to this key`);
    }
    return scope;
  }
  if (!requested) {
    throw new AppError('VALIDATION_FAILED', `${what} is required for ${principal.role} keys (?tenant=...)`, {
      details: { errors: [{ path: 'query.tenant', message: 'required for operator keys' }] },
    });
  }
  return requested;
}
