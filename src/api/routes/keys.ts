import { z } from 'zod';
import { AppError, defineRoute, type RouteDef } from '../kit.ts';
import type { KeyRing } from '../repos/api-keys.ts';
import { ROLES } from '../route.ts';

const keyIdParams = z.strictObject({ id: z.string().regex(/^[0-9a-f]{16}$/, 'a key id is 16 hex digits') });

export const apiKeySchema = z
  .object({
    keyId: z.string(),
    name: z.string(),
    role: z.enum(ROLES),
    tenant: z.string().optional(),
    revoked: z.boolean(),
    createdAt: z.string().describe('ISO 8601'),
    createdBy: z.string().describe('Key id of the admin who created it'),
    version: z.number().int(),
  })
  .meta({ id: 'ApiKey' });

const createKeySchema = z
  .strictObject({
    name: z.string().trim().min(1).max(200).describe('What the key is for (shown in lists and audit)'),
    role: z.enum(ROLES),
    tenant: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'letters, digits, . _ - (up to 64)')
      .optional()
      .describe('The retailer tenant; required for role retailer, not allowed for other roles'),
  })
  .meta({ id: 'CreateApiKey' });

/** Admin routes to create, list, read and revoke API keys. */
export function keyRoutes(deps: { keys: KeyRing }): RouteDef[] {
  const { keys } = deps;
  return [
    defineRoute({
      method: 'post',
      path: '/v1/keys',
      summary: 'Create an API key (the token is shown once, in this answer only)',
      tag: 'keys',
      roles: ['admin'],
      body: createKeySchema,
      status: 201,
      response: z.object({ token: z.string().describe('Bearer token; store it now'), key: apiKeySchema }),
      handler: ({ body, principal }) => keys.create(body, principal.keyId),
    }),
    defineRoute({
      method: 'get',
      path: '/v1/keys',
      summary: 'List API keys (never their tokens)',
      tag: 'keys',
      roles: ['admin'],
      query: z.strictObject({
        includeRevoked: z
          .enum(['true', 'false'])
          .default('false')
          .transform((v) => v === 'true'),
        limit: z.coerce.number().int().min(1).max(1000).default(100),
        offset: z.coerce.number().int().min(0).max(1_000_000).default(0),
      }),
      response: z.object({ items: z.array(apiKeySchema) }),
      handler: async ({ query }) => ({ items: await keys.list(query) }),
    }),
    defineRoute({
      method: 'get',
      path: '/v1/keys/:id',
      summary: 'One API key',
      tag: 'keys',
      roles: ['admin'],
      params: keyIdParams,
      response: apiKeySchema,
      handler: async ({ params }) => {
        const key = await keys.get(params.id);
        if (!key) throw new AppError('NOT_FOUND', `no API key ${params.id}`);
        return key;
      },
    }),
    defineRoute({
      method: 'delete',
      path: '/v1/keys/:id',
      summary: 'Revoke an API key (effective at once on this instance, within seconds on others)',
      tag: 'keys',
      roles: ['admin'],
      params: keyIdParams,
      response: apiKeySchema,
      handler: ({ params, principal }) => keys.revoke(params.id, principal.keyId),
    }),
  ];
}
