import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Role, RouteDef } from '../../../src/api/index.ts';
import {
  buildFence,
  CALLERS,
  type Caller,
  type CallOptions,
  type Harness,
  roleOf,
  startHarness,
} from './fixture.ts';

// For each route: how to make one valid request as `caller` against objects owned by tenant A ('acme').
// `owned: true` marks requests on one tenant's object: a retailer of the other tenant must get 404.
interface Sample {
  path: string;
  opts?: CallOptions;
  owned?: boolean;
}
type SampleFactory = (h: Harness, caller: Caller) => Promise<Sample>;

let seq = 0;
const fresh = (prefix: string) => `${prefix}-${process.pid}-${++seq}`;
const operatorTenant = (caller: Caller) => (caller.startsWith('retailer') ? '' : '?tenant=acme');

async function acmeFence(h: Harness): Promise<string> {
  const id = fresh('m');
  const r = await h.call('POST', '/v1/geofences', { as: 'retailerA', json: buildFence({ id }) });
  assert.equal(r.status, 201, r.text);
  return id;
}

// The access policy, written out independently of the routes' declarations: a route whose declared
// roles drift from it fails here, and every answer is checked against it.
const OPS = ['admin', 'analyst', 'retailer'] as const;
const SAMPLES: Record<string, { roles: readonly Role[] | 'public'; make: SampleFactory }> = {
  'get /livez': { roles: 'public', make: async () => ({ path: '/livez' }) },
  'get /readyz': { roles: 'public', make: async () => ({ path: '/readyz' }) },
  'get /metrics': { roles: 'public', make: async () => ({ path: '/metrics' }) },
  'get /openapi.json': { roles: 'public', make: async () => ({ path: '/openapi.json' }) },
  'post /v1/keys': {
    roles: ['admin'],
    make: async () => ({ path: '/v1/keys', opts: { json: { name: 'matrix', role: 'viewer' } } }),
  },
  'get /v1/keys': { roles: ['admin'], make: async () => ({ path: '/v1/keys' }) },
  'get /v1/keys/:id': { roles: ['admin'], make: async (h) => ({ path: `/v1/keys/${h.keyIds.viewer}` }) },
  'delete /v1/keys/:id': {
    roles: ['admin'],
    make: async (h) => {
      const { key } = await h.keys.create({ name: 'to revoke', role: 'viewer' }, 'test');
      return { path: `/v1/keys/${key.keyId}` };
    },
  },
  'post /v1/geofences': {
    roles: OPS,
    make: async (_h, caller) => ({
      path: `/v1/geofences${operatorTenant(caller)}`,
      opts: { json: buildFence({ id: fresh('c') }) },
    }),
  },
  'get /v1/geofences': { roles: OPS, make: async () => ({ path: '/v1/geofences' }) },
  'get /v1/geofences/export': { roles: OPS, make: async () => ({ path: '/v1/geofences/export' }) },
  'get /v1/geofences/:id': {
    roles: OPS,
    make: async (h) => ({ path: `/v1/geofences/${await acmeFence(h)}`, owned: true }),
  },
  'put /v1/geofences/:id': {
    roles: OPS,
    make: async (h) => ({
      path: `/v1/geofences/${await acmeFence(h)}?version=1`,
      opts: { json: buildFence({ name: 'replaced' }) },
      owned: true,
    }),
  },
  'delete /v1/geofences/:id': {
    roles: OPS,
    make: async (h) => ({ path: `/v1/geofences/${await acmeFence(h)}`, owned: true }),
  },
  'get /v1/audit': { roles: ['admin', 'analyst'], make: async () => ({ path: '/v1/audit' }) },
};

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(async () => {
  await h?.close();
});

function expected(
  policy: readonly Role[] | 'public',
  caller: Caller,
  sample: Sample,
): 'ok' | 401 | 403 | 404 {
  if (policy === 'public') return 'ok';
  const role = roleOf(caller);
  if (!role) return 401;
  if (!policy.includes(role)) return 403;
  if (sample.owned && caller === 'retailerB') return 404;
  return 'ok';
}

test('every route is in the access policy and declares exactly the roles the policy gives it', () => {
  const missing = h.routes.map((r) => `${r.method} ${r.path}`).filter((k) => !SAMPLES[k]);
  assert.deepEqual(missing, []);
  for (const r of h.routes) {
    const policy = SAMPLES[`${r.method} ${r.path}`].roles;
    assert.deepEqual(
      r.public ? 'public' : [...r.roles].sort(),
      policy === 'public' ? policy : [...policy].sort(),
      `${r.method} ${r.path}`,
    );
  }
});

test('every route × every role × two tenants answers as the access policy says', async () => {
  const systemPaths = ['/livez', '/readyz', '/metrics', '/openapi.json'];
  const routes: RouteDef[] = [
    ...systemPaths.map((path) => ({ method: 'get', path, public: true, roles: [] }) as unknown as RouteDef),
    ...h.routes,
  ];
  const failures: string[] = [];
  let checked = 0;
  for (const route of routes) {
    const { roles: policy, make } = SAMPLES[`${route.method} ${route.path}`];
    for (const caller of CALLERS) {
      const sample = await make(h, caller);
      const want = expected(policy, caller, sample);
      const r = await h.call(route.method.toUpperCase(), sample.path, { ...sample.opts, as: caller });
      checked++;
      const label = `${route.method.toUpperCase()} ${route.path} as ${caller}: got ${r.status}`;
      if (want === 'ok') {
        if (r.status < 200 || r.status >= 300) failures.push(`${label}, want 2xx (${r.text.slice(0, 200)})`);
        continue;
      }
      if (r.status !== want) failures.push(`${label}, want ${want}`);
      else if (!/application\/problem\+json/.test(r.headers.get('content-type') ?? '')) {
        failures.push(`${label}: not problem+json`);
      } else {
        const code = { 401: 'UNAUTHENTICATED', 403: 'FORBIDDEN', 404: /NOT_FOUND$/ }[want];
        if (typeof code === 'string' ? r.json.code !== code : !code.test(r.json.code)) {
          failures.push(`${label}: code ${r.json.code}`);
        }
        if (want === 404 && /coordinates|"Store"/.test(r.text)) failures.push(`${label}: leaks the object`);
      }
    }
  }
  assert.deepEqual(failures, []);
  assert.ok(checked >= routes.length * CALLERS.length);
});

test('a retailer’s lists and exports hold only its own tenant’s fences', async () => {
  await acmeFence(h);
  await h.call('POST', '/v1/geofences', { as: 'retailerB', json: buildFence({ id: fresh('g') }) });
  for (const [caller, tenant] of [
    ['retailerA', 'acme'],
    ['retailerB', 'globex'],
  ] as const) {
    const list = await h.call('GET', '/v1/geofences?limit=1000', { as: caller });
    const exp = await h.call('GET', '/v1/geofences/export', { as: caller });
    assert.ok(list.json.items.length > 0);
    assert.ok(list.json.items.every((f: any) => f.properties.tenant === tenant));
    assert.ok(exp.json.features.every((f: any) => f.properties.tenant === tenant));
  }
  const all = await h.call('GET', '/v1/geofences?limit=1000', { as: 'analyst' });
  assert.deepEqual(new Set(all.json.items.map((f: any) => f.properties.tenant)), new Set(['acme', 'globex']));
});

test('a revoked or malformed key is refused with 401 and a Bearer challenge', async () => {
  const { token, key } = await h.keys.create({ name: 'short-lived', role: 'analyst' }, 'test');
  assert.equal(
    (await h.call('GET', '/v1/geofences', { headers: { authorization: `Bearer ${token}` } })).status,
    200,
  );
  const del = await h.call('DELETE', `/v1/keys/${key.keyId}`, { as: 'admin' });
  assert.equal(del.status, 200);
  assert.equal(del.json.revoked, true);
  for (const authorization of [
    `Bearer ${token}`,
    'Bearer ',
    'Basic abc',
    `Bearer ${token}x`,
    `bearer ${'a'.repeat(600)}`,
  ]) {
    const r = await h.call('GET', '/v1/geofences', { headers: { authorization } });
    assert.equal(r.status, 401, authorization.slice(0, 30));
    assert.equal(r.headers.get('www-authenticate'), 'Bearer');
    assert.equal(r.json.code, 'UNAUTHENTICATED');
  }
});
