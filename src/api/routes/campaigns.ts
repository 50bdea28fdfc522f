import { z } from 'zod';
import {
  CAMPAIGN_STATUSES,
  type CampaignService,
  campaignInputSchema,
  LIFECYCLE_ACTIONS,
  type LifecycleAction,
} from '../../campaigns/index.ts';
import { defineRoute, type Principal, type RouteDef, tenantForWrite, tenantScope } from '../kit.ts';

const idParams = z.strictObject({ id: z.string().min(1).max(64) });
const actor = (p: Principal) => ({ id: p.keyId, role: p.role });

const campaignSchema = z
  .looseObject({
    id: z.string(),
    tenant: z.string(),
    status: z.enum(CAMPAIGN_STATUSES),
    version: z.number().int(),
    name: z.string(),
  })
  .meta({ id: 'Campaign' });

const previewSchema = z
  .object({
    text: z.string(),
    encoding: z.enum(['GSM-7', 'UCS-2']),
    parts: z.number().int(),
    chars: z.number().int(),
    fenceId: z.string(),
    language: z.string(),
  })
  .meta({ id: 'CampaignPreview' });

/** Campaign CRUD, lifecycle (submit → approve/reject → activate ⇄ pause → finish) and preview. */
export function campaignRoutes(deps: { campaigns: CampaignService }): RouteDef[] {
  const { campaigns } = deps;
  const lifecycle = (action: LifecycleAction): RouteDef =>
    defineRoute({
      method: 'post',
      path: `/v1/campaigns/:id/${action}`,
      summary: `Lifecycle: ${action} a campaign`,
      tag: 'campaigns',
      roles: action === 'approve' || action === 'reject' ? ['analyst'] : ['retailer', 'analyst'],
      params: idParams,
      body:
        action === 'reject'
          ? z.strictObject({ reason: z.string().trim().min(1).max(500) })
          : z.strictObject({ reason: z.string().trim().max(500).optional() }).optional(),
      response: campaignSchema,
      errors: { 409: 'not allowed from the current state or stale version' },
      handler: ({ params, body, principal }) =>
        campaigns.transition(params.id, action, actor(principal), {
          reason: (body as { reason?: string } | undefined)?.reason,
          tenant: tenantScope(principal),
        }),
    });
  return [
    defineRoute({
      method: 'post',
      path: '/v1/campaigns',
      summary: 'Create a draft campaign (retailers: in their own tenant)',
      tag: 'campaigns',
      roles: ['retailer'],
      query: z.strictObject({ tenant: z.string().min(1).max(64).optional() }),
      body: campaignInputSchema,
      status: 201,
      response: campaignSchema,
      handler: ({ body, query, principal }) =>
        campaigns.create(tenantForWrite(principal, query.tenant), body, actor(principal)),
    }),
    defineRoute({
      method: 'get',
      path: '/v1/campaigns',
      summary: 'List campaigns (retailers see their own)',
      tag: 'campaigns',
      roles: ['analyst', 'retailer', 'viewer'],
      query: z.strictObject({
        status: z.enum(CAMPAIGN_STATUSES).optional(),
        tenant: z.string().min(1).max(64).optional(),
        limit: z.coerce.number().int().min(1).max(1000).default(100),
        offset: z.coerce.number().int().min(0).max(1_000_000).default(0),
      }),
      response: z.object({ items: z.array(campaignSchema) }),
      handler: async ({ query, principal }) => ({
        items: await campaigns.list({
          tenant: tenantScope(principal) ?? query.tenant,
          status: query.status,
          limit: query.limit,
          offset: query.offset,
        }),
      }),
    }),
    defineRoute({
      method: 'get',
      path: '/v1/campaigns/:id',
      summary: 'One campaign',
      tag: 'campaigns',
      roles: ['analyst', 'retailer', 'viewer'],
      params: idParams,
      response: campaignSchema,
      handler: ({ params, principal }) => campaigns.get(params.id, tenantScope(principal)),
    }),
    defineRoute({
      method: 'put',
      path: '/v1/campaigns/:id',
      summary: 'Replace a campaign (an approved or running one goes back to submitted)',
      tag: 'campaigns',
      roles: ['retailer'],
      params: idParams,
      query: z.strictObject({ version: z.coerce.number().int().min(1).optional() }),
      body: campaignInputSchema,
      response: campaignSchema,
      errors: { 409: 'stale version or finished campaign' },
      handler: ({ params, query, body, principal }) =>
        campaigns.update(params.id, body, query.version, actor(principal), tenantScope(principal)),
    }),
    ...LIFECYCLE_ACTIONS.map(lifecycle),
    defineRoute({
      method: 'post',
      path: '/v1/campaigns/:id/preview',
      summary: 'Render the message for a store and language; reports encoding and SMS parts',
      tag: 'campaigns',
      roles: ['retailer', 'analyst'],
      params: idParams,
      body: z.strictObject({
        fenceId: z.string().min(1).max(128).optional(),
        language: z
          .string()
          .regex(/^[a-z]{2}$/)
          .optional(),
        step: z.number().int().min(0).max(5).optional(),
      }),
      response: previewSchema,
      handler: ({ params, body, principal }) =>
        campaigns.preview(params.id, { ...body, tenant: tenantScope(principal) }),
    }),
  ];
}
