import { z } from 'zod';
import { type CampaignService, policySchema } from '../../campaigns/index.ts';
import { defineRoute, type RouteDef } from '../kit.ts';

const policyOut = z.looseObject({ version: z.number().int() }).meta({ id: 'Policy' });

/** The operator's global marketing policy: quiet hours, caps across campaigns, blocklist. */
export function policyRoutes(deps: { campaigns: CampaignService }): RouteDef[] {
  return [
    defineRoute({
      method: 'get',
      path: '/v1/policy',
      summary: 'The global policy',
      tag: 'policy',
      roles: ['analyst', 'viewer'],
      response: policyOut,
      handler: () => deps.campaigns.getPolicy(),
    }),
    defineRoute({
      method: 'put',
      path: '/v1/policy',
      summary: 'Replace the global policy (admin only)',
      tag: 'policy',
      roles: ['admin'],
      query: z.strictObject({ version: z.coerce.number().int().min(0).optional() }),
      body: policySchema,
      response: policyOut,
      errors: { 409: 'stale version' },
      handler: ({ body, query, principal }) =>
        deps.campaigns.putPolicy(body, query.version, { id: principal.keyId, role: principal.role }),
    }),
  ];
}
