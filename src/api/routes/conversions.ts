import { z } from 'zod';
import type { Conversions } from '../../campaigns/index.ts';
import { defineRoute, type RouteDef, tenantScope } from '../kit.ts';

/** Retailers report conversions (promo code redeemed, or sid + campaign); pending follow-ups stop. */
export function conversionRoutes(deps: { conversions: Conversions }): RouteDef[] {
  return [
    defineRoute({
      method: 'post',
      path: '/v1/conversions',
      summary: 'Record a conversion by promo code (or sid and campaign); cancels pending follow-ups',
      tag: 'conversions',
      roles: ['retailer'],
      body: z.strictObject({
        promoCode: z.string().trim().min(4).max(16).optional(),
        sid: z.string().min(1).max(64).optional(),
        campaignId: z.string().min(1).max(64).optional(),
        value: z.number().min(0).max(1e9).optional(),
        currency: z
          .string()
          .regex(/^[A-Z]{3}$/)
          .optional(),
        storeId: z.string().min(1).max(128).optional(),
        ts: z.iso.datetime({ offset: true }).optional(),
        source: z.enum(['pos', 'api', 'import']).optional(),
      }),
      status: 201,
      response: z.object({
        conversionId: z.string(),
        campaignId: z.string(),
        tenant: z.string(),
        cancelledFollowUps: z.number().int(),
      }),
      handler: ({ body, principal }) =>
        deps.conversions.record(
          { ...body, tsMs: body.ts ? Date.parse(body.ts) : undefined },
          principal.role === 'retailer' ? tenantScope(principal) : undefined,
        ),
    }),
  ];
}
