import assert from 'node:assert/strict';
import { test } from 'node:test';
import { z } from 'zod';
import {
  buildOpenApiDocument,
  canSee,
  defineRoute,
  openApiPath,
  tenantForWrite,
  tenantScope,
} from '../../../src/api/index.ts';
import { isAppError } from '../../../src/errors.ts';

const noop = () => ({});

test('a route must declare its roles or be public, and cannot take both a JSON and a raw body', () => {
  assert.throws(
    () => defineRoute({ method: 'get', path: '/x', summary: 's', roles: [], handler: noop }),
    /declare its roles/,
  );
  assert.throws(
    () => defineRoute({ method: 'get', path: 'x', summary: 's', roles: ['viewer'], handler: noop }),
    /start with/,
  );
  assert.throws(
    () =>
      defineRoute({
        method: 'post',
        path: '/x',
        summary: 's',
        roles: ['ingest'],
        body: z.strictObject({}),
        rawBody: { contentTypes: ['text/csv'] },
        handler: noop,
      }),
    /exclude/,
  );
});

test('admin may use every non-public route; a public route has no roles', () => {
  const r = defineRoute({ method: 'get', path: '/x', summary: 's', roles: ['viewer'], handler: noop });
  assert.deepEqual([...r.roles].sort(), ['admin', 'viewer']);
  const p = defineRoute({ method: 'get', path: '/p', summary: 's', roles: [], public: true, handler: noop });
  assert.deepEqual(p.roles, []);
  assert.equal(p.public, true);
});

test('express paths become OpenAPI paths with their parameters declared', () => {
  assert.equal(openApiPath('/v1/a/:id/b/:other_id'), '/v1/a/{id}/b/{other_id}');
  const doc = buildOpenApiDocument([
    defineRoute({ method: 'get', path: '/v1/a/:id', summary: 's', roles: ['viewer'], handler: noop }),
  ]) as any;
  const op = doc.paths['/v1/a/{id}'].get;
  assert.deepEqual(
    op.parameters.map((p: any) => [p.in, p.name, p.required]),
    [['path', 'id', true]],
  );
  assert.equal(op.operationId, 'getV1AById');
  assert.deepEqual(op['x-roles'], ['admin', 'viewer']);
});

test('tenancy: retailers are confined to their tenant, operators must name one to write', () => {
  const retailer = { keyId: 'k', role: 'retailer' as const, tenant: 'acme' };
  const analyst = { keyId: 'a', role: 'analyst' as const };
  assert.equal(tenantScope(retailer), 'acme');
  assert.equal(tenantScope(analyst), undefined);
  assert.equal(canSee(retailer, 'acme'), true);
  assert.equal(canSee(retailer, 'globex'), false);
  assert.equal(canSee(analyst, 'globex'), true);
  assert.equal(tenantForWrite(retailer, undefined), 'acme');
  assert.equal(tenantForWrite(retailer, 'acme'), 'acme');
  assert.throws(
    () => tenantForWrite(retailer, 'globex'),
    (e) => isAppError(e, 'NOT_FOUND'),
  );
  assert.throws(
    () => tenantForWrite(analyst, undefined),
    (e) => isAppError(e, 'VALIDATION_FAILED'),
  );
  assert.equal(tenantForWrite(analyst, 'globex'), 'globex');
  assert.throws(
    () => tenantScope({ keyId: 'x', role: 'retailer' }),
    (e) => isAppError(e, 'FORBIDDEN'),
  );
});
