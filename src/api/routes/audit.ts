import { z } from 'zod';
import type { Store } from '../../store/index.ts';
import { defineRoute, type RouteDef } from '../kit.ts';
import { tenantIdSchema } from './geofences.ts';

export const auditEntrySchema = z
  .object({
    ts: z.string().describe('ISO 8601'),
    entity: z.string().describe('geofences, segments, campaigns, api_keys, policy'),
    entityId: z.string(),
    tenant: z.string(),
    action: z.enum(['create', 'update', 'delete']),
    actor: z.string().describe('Key id that made the change'),
    versionBefore: z.number().int(),
    versionAfter: z.number().int(),
    body: z.unknown().optional().describe('The object after the change (absent on delete and for API keys)'),
  })
  .meta({ id: 'AuditEntry' });

interface AuditRow {
  ts_ms: string | number;
  entity: string;
  entity_id: string;
  tenant: string;
  action: 'create' | 'update' | 'delete';
  actor: string;
  version_before: string | number;
  version_after: string | number;
  body: string;
}

/** The audit trail: who changed what, when, version before and after (operator roles only). */
export function auditRoutes(deps: { store: Store }): RouteDef[] {
  const { store } = deps;
  return [
    defineRoute({
      method: 'get',
      path: '/v1/audit',
      summary: 'Audit trail of definition changes, newest first',
      tag: 'audit',
      roles: ['analyst'],
      query: z.strictObject({
        entity: z.enum(['geofences', 'segments', 'campaigns', 'api_keys', 'policy']).optional(),
        entityId: z.string().min(1).max(128).optional(),
        tenant: tenantIdSchema.optional(),
        actor: z.string().min(1).max(128).optional(),
        limit: z.coerce.number().int().min(1).max(1000).default(100),
      }),
      response: z.object({ items: z.array(auditEntrySchema) }),
      handler: async ({ query }) => {
        const where: string[] = [];
        if (query.entity) where.push('entity = {entity:String}');
        if (query.entityId) where.push('entity_id = {entityId:String}');
        if (query.tenant) where.push('tenant = {tenant:String}');
        if (query.actor) where.push('actor = {actor:String}');
        const rows = await store.query<AuditRow>(
          `SELECT toUnixTimestamp64Milli(ts) AS ts_ms, entity, entity_id, tenant, action, actor, version_before, version_after, body
           FROM ${store.database}.audit_log ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
           ORDER BY ts DESC, version_after DESC LIMIT {limit:UInt32}`,
          { ...query },
        );
        return {
          items: rows.map((r) => ({
            ts: new Date(Number(r.ts_ms)).toISOString(),
            entity: r.entity,
            entityId: r.entity_id,
            tenant: r.tenant,
            action: r.action,
            actor: r.actor,
            versionBefore: Number(r.version_before),
            versionAfter: Number(r.version_after),
            // Key rows hold token hashes: never shown, even hashed.
            body: r.body && r.entity !== 'api_keys' ? safeJson(r.body) : undefined,
          })),
        };
      },
    }),
  ];
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
