import type { FenceLimits, Matcher } from '../../geo/index.ts';
import type { Store } from '../../store/index.ts';
import type { KeyRing } from '../repos/api-keys.ts';
import type { GeofenceRepo } from '../repos/geofences.ts';
import type { RouteDef } from '../route.ts';
import { auditRoutes } from './audit.ts';
import { geofenceRoutes } from './geofences.ts';
import { keyRoutes } from './keys.ts';

/** The API stage's own routes: keys, geofences, audit. Other stages' routes are added next to these. */
export function apiRoutes(deps: {
  store: Store;
  keys: KeyRing;
  geofences: GeofenceRepo;
  limits: FenceLimits;
  matcher?: Pick<Matcher, 'upsert' | 'remove'>;
}): RouteDef[] {
  return [
    ...keyRoutes({ keys: deps.keys }),
    ...geofenceRoutes({ geofences: deps.geofences, limits: deps.limits, matcher: deps.matcher }),
    ...auditRoutes({ store: deps.store }),
  ];
}
