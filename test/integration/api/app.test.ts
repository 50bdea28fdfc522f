import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, test } from 'node:test';
import SwaggerParser from '@apidevtools/swagger-parser';
import { z } from 'zod';
import {
  type ApiServer,
  type Authenticator,
  createApiServer,
  createMetricsRegistry,
  defineRoute,
  openApiPath,
  type Principal,
  type RouteDef,
  reply,
} from '../../../src/api/index.ts';
import { AppError } from '../../../src/errors.ts';
import { createLogger } from '../../../src/logger.ts';
import { type Harness, startHarness } from './fixture.ts';

// Part 1: the app machinery on its own (no store): a few routes, a fixed authenticator, logs captured.
const TOKENS: Record<string, Principal> = {
  'tok-analyst-0123456789': { keyId: 'k-analyst', role: 'analyst' },
  'tok-other-0123456789ab': { keyId: 'k-other', role: 'analyst' },
  'tok-ingest-0123456789a': { keyId: 'k-ingest', role: 'ingest' },
  'tok-logs-0123456789abc': { keyId: 'k-logs', role: 'analyst' },
};
const auth: Authenticator = { authenticate: (t) => TOKENS[t] };
const logLines: string[] = [];
const logSink = new Writable({
  write(chunk, _enc, cb) {
    logLines.push(String(chunk));
    cb();
  },
});
let storeUp = true;

const testRoutes: RouteDef[] = [
  defineRoute({
    method: 'post',
    path: '/v1/echo',
    summary: 'echo',
    roles: ['analyst'],
    body: z.strictObject({ phone: z.string(), n: z.number() }),
    response: z.object({ n: z.number() }),
    handler: ({ body }) => ({ n: body.n }),
  }),
  defineRoute({
    method: 'get',
    path: '/v1/items/:id',
    summary: 'item',
    roles: ['analyst'],
    response: z.object({ id: z.string() }),
    handler: ({ params }) => ({ id: params.id }),
  }),
  defineRoute({
    method: 'get',
    path: '/v1/boom',
    summary: 'throws a programmer error',
    roles: ['analyst'],
    handler: () => {
      throw new TypeError('secret internals at /srv/app.ts:42');
    },
  }),
  defineRoute({
    method: 'get',
    path: '/v1/wrong-shape',
    summary: 'answers outside its schema',
    roles: ['analyst'],
    response: z.object({ ok: z.boolean() }),
    handler: () => ({ ok: 'yes' }),
  }),
  defineRoute({
    method: 'post',
    path: '/v1/pings',
    summary: 'ndjson',
    roles: ['ingest'],
    rawBody: { contentTypes: ['application/x-ndjson'], limit: '2kb' },
    handler: ({ body }) => reply(202, { lines: String(body).trim().split('\n').length }),
  }),
  defineRoute({
    method: 'get',
    path: '/v1/store-error',
    summary: 'a retriable store failure',
    roles: ['analyst'],
    handler: () => {
      throw new AppError('STORE_UNAVAILABLE', 'ClickHouse is down', { retriable: true });
    },
  }),
];

let server: ApiServer;
let url: string;
before(async () => {
  server = createApiServer({
    logger: createLogger({ level: 'info' }, logSink),
    auth,
    routes: testRoutes,
    readiness: {
      store: () => storeUp,
      kafka: async () => true,
      slow: () => new Promise<boolean>((r) => setTimeout(() => r(true), 10)),
    },
    readinessTimeoutMs: 500,
    metricsRegistry: createMetricsRegistry(),
    bodyLimit: '1kb',
    rateLimitPerMin: 5,
    validateResponses: true,
  });
  url = `http://127.0.0.1:${await server.listen(0, '127.0.0.1')}`;
});
after(async () => {
  await server?.close();
});

const call = (path: string, init: RequestInit & { token?: string } = {}) =>
  fetch(url + path, {
    ...init,
    headers: {
      ...(init.token ? { authorization: `Bearer ${init.token}` } : {}),
      ...(init.headers as object),
    },
  });

test('liveness is always ok and readiness lists each dependency, 503 when one is down', async () => {
  assert.deepEqual(await ((await call('/livez')).json() as Promise<any>), { status: 'ok' });
  const ready = await call('/readyz');
  assert.equal(ready.status, 200);
  assert.deepEqual((await ready.json()) as any, {
    status: 'ready',
    checks: { store: 'up', kafka: 'up', slow: 'up' },
  });
  storeUp = false;
  const down = await call('/readyz');
  storeUp = true;
  assert.equal(down.status, 503);
  assert.deepEqual(((await down.json()) as any).checks.store, 'down');
});

test('every answer carries a request id; a sane incoming one is kept, a hostile one replaced', async () => {
  const own = await call('/v1/nope', { headers: { 'x-request-id': 'abc-123' } });
  assert.equal(own.headers.get('x-request-id'), 'abc-123');
  assert.equal(((await own.json()) as any).requestId, 'abc-123');
  assert.equal(own.headers.get('cache-control'), 'no-store');
  assert.equal(own.headers.get('x-content-type-options'), 'nosniff');
  const hostile = await call('/livez', { headers: { 'x-request-id': 'a b<script>' } });
  assert.match(hostile.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);
});

test('unknown routes and methods answer 404 problem+json', async () => {
  for (const [method, path] of [
    ['GET', '/nope'],
    ['DELETE', '/livez'],
    ['PATCH', '/v1/echo'],
  ]) {
    const r = await call(path, { method });
    assert.equal(r.status, 404, `${method} ${path}`);
    assert.match(r.headers.get('content-type') ?? '', /application\/problem\+json/);
    const p = (await r.json()) as any;
    assert.equal(p.code, 'NOT_FOUND');
    assert.equal(p.type, 'urn:geotrigger:error:NOT_FOUND');
  }
});

test('a zod failure lists each issue with its path and message', async () => {
  const r = await call('/v1/echo', {
    method: 'POST',
    token: 'tok-analyst-0123456789',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ phone: 5, extra: true }),
  });
  assert.equal(r.status, 400);
  const p = (await r.json()) as any;
  assert.equal(p.code, 'VALIDATION_FAILED');
  assert.deepEqual(p.errors.map((e: { path: string }) => e.path).sort(), ['extra', 'n', 'phone']);
  assert.ok(p.errors.every((e: { message: string }) => e.message.length > 0));
});

test('a body over the limit answers 413, a programmer error 500 without internals, a store outage 503', async () => {
  const big = await call('/v1/echo', {
    method: 'POST',
    token: 'tok-other-0123456789ab',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ phone: 'x'.repeat(2000), n: 1 }),
  });
  assert.equal(big.status, 413);
  assert.equal(((await big.json()) as any).code, 'BODY_TOO_LARGE');
  const boom = await call('/v1/boom', { token: 'tok-other-0123456789ab' });
  assert.equal(boom.status, 500);
  const text = await boom.text();
  assert.ok(!text.includes('secret internals') && !text.includes('/srv/'), text);
  assert.equal(JSON.parse(text).code, 'INTERNAL');
  const wrong = await call('/v1/wrong-shape', { token: 'tok-other-0123456789ab' });
  assert.equal(wrong.status, 500, 'a response outside its schema is caught when validateResponses is on');
  const store = await call('/v1/store-error', { token: 'tok-other-0123456789ab' });
  assert.equal(store.status, 503);
  assert.equal(store.headers.get('retry-after'), '1');
});

test('raw bodies: the declared content type is accepted within its own limit, others get 415', async () => {
  const ok = await call('/v1/pings', {
    method: 'POST',
    token: 'tok-ingest-0123456789a',
    headers: { 'content-type': 'application/x-ndjson' },
    body: '{"a":1}\n{"a":2}\n',
  });
  assert.equal(ok.status, 202);
  assert.deepEqual((await ok.json()) as any, { lines: 2 });
  const json = await call('/v1/pings', {
    method: 'POST',
    token: 'tok-ingest-0123456789a',
    headers: { 'content-type': 'application/json' },
    body: '{}',
  });
  assert.equal(json.status, 415);
  const big = await call('/v1/pings', {
    method: 'POST',
    token: 'tok-ingest-0123456789a',
    headers: { 'content-type': 'application/x-ndjson' },
    body: '{"a":1}\n'.repeat(400),
  });
  assert.equal(big.status, 413);
});

test('a key over its rate answers 429 with Retry-After, while other keys go on', async () => {
  const statuses: number[] = [];
  let last: Response | undefined;
  for (let i = 0; i < 8; i++) {
    last = await call('/v1/items/x', { token: 'tok-analyst-0123456789' });
    statuses.push(last.status);
  }
  assert.ok(statuses.includes(200));
  assert.equal(statuses.at(-1), 429, statuses.join(','));
  const retryAfter = Number(last?.headers.get('retry-after'));
  assert.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After ${retryAfter}`);
  const p = (await last?.json()) as any;
  assert.equal(p.code, 'RATE_LIMITED');
  // The ingest key has its own bucket (its earlier requests in this file used some of it).
  assert.notEqual((await call('/v1/items/x', { token: 'tok-ingest-0123456789a' })).status, 429);
});

test('requests without a valid key are rate limited by client address, so keys cannot be guessed quickly', async () => {
  const statuses: number[] = [];
  for (let i = 0; i < 12; i++) statuses.push((await call('/v1/items/x', { token: `guess-${i}` })).status);
  assert.ok(statuses.includes(401));
  assert.equal(statuses.at(-1), 429);
});

test('logs carry request ids and never the bearer token or request bodies', async () => {
  const r = await call('/v1/echo', {
    method: 'POST',
    token: 'tok-logs-0123456789abc',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ phone: '+380501234567', n: 7 }),
  });
  assert.equal(r.status, 200);
  const text = logLines.join('');
  assert.ok(!text.includes('380501234567'), 'body field in logs');
  assert.ok(text.length > 0);
  assert.ok(!text.includes('tok-analyst-0123456789'), 'token in logs');
  assert.ok(!text.includes('tok-other-0123456789ab'), 'token in logs');
  assert.ok(!text.includes('tok-logs-0123456789abc'), 'token in logs');
  assert.ok(text.includes('"reqId"') || text.includes('"req":{"id"'), 'request id in logs');
  assert.ok(!/authorization/i.test(text), 'no authorization header logged');
  // The 500 is logged with its error, for operators.
  assert.ok(text.includes('secret internals'), 'the programmer error is in the log, not the answer');
});

test('metrics expose default process metrics and request counts by route template, not raw URL', async () => {
  const r = await call('/metrics');
  assert.equal(r.status, 200);
  const text = await r.text();
  assert.match(text, /process_cpu_user_seconds_total/);
  assert.match(text, /nodejs_eventloop_lag_seconds/);
  assert.match(text, /http_requests_total\{method="GET",route="\/v1\/items\/:id",status="200"\}/);
  assert.ok(!text.includes('route="/v1/items/x"'));
});

test('the docs page and all its assets are served locally (works offline)', async () => {
  const redirect = await call('/docs', { redirect: 'manual' });
  assert.equal(redirect.status, 301);
  const page = await call('/docs/');
  assert.equal(page.status, 200);
  const html = await page.text();
  assert.ok(!/https?:\/\//.test(html), 'no external URLs in the page');
  const assets = [...html.matchAll(/(?:src|href)="\.\/([^"]+)"/g)].map((m) => m[1]);
  assert.ok(assets.length >= 3);
  for (const asset of assets) {
    const r = await call(`/docs/${asset}`);
    assert.equal(r.status, 200, asset);
    const body = await r.text();
    assert.ok(body.length > 100, asset);
    if (asset === 'init.js') assert.match(body, /openapi\.json/);
  }
});

// Part 2: the full API over the embedded store.
let h: Harness;
before(async () => {
  h = await startHarness();
});
after(async () => {
  await h?.close();
});

test('the OpenAPI document is valid OpenAPI 3.1 and has every route with its roles', async () => {
  const r = await h.call('GET', '/openapi.json');
  assert.equal(r.status, 200);
  const doc = r.json;
  assert.equal(doc.openapi, '3.1.0');
  await SwaggerParser.validate(structuredClone(doc));
  const expected = [
    ...['/livez', '/readyz', '/metrics', '/openapi.json'].map((p) => ['get', p]),
    ...h.routes.map((rt) => [rt.method, openApiPath(rt.path)]),
  ];
  for (const [method, path] of expected) {
    const op = doc.paths[path]?.[method];
    assert.ok(op, `${method} ${path} missing`);
    assert.ok(op.summary && op.operationId && op.responses, `${method} ${path} incomplete`);
  }
  const ops = Object.values(doc.paths).flatMap((p: any) => Object.values(p)) as any[];
  assert.equal(ops.length, expected.length, 'no extra operations');
  assert.equal(new Set(ops.map((o) => o.operationId)).size, ops.length, 'operation ids are unique');
  for (const rt of h.routes) {
    const op = doc.paths[openApiPath(rt.path)][rt.method];
    assert.deepEqual(op['x-roles'], rt.roles);
    assert.deepEqual(op.security, [{ bearer: [] }]);
    assert.ok(op.responses['401'] && op.responses['403'] && op.responses['429']);
  }
  const create = doc.paths['/v1/geofences'].post;
  assert.ok(create.requestBody.content['application/json'].schema);
  assert.ok(create.responses['201'] && create.responses['200'] && create.responses['409']);
  assert.ok(doc.components.schemas.Problem);
});

/** Walks a zod schema; reports every object that accepts unknown keys. */
function looseObjects(schema: z.ZodType, path: string, out: string[], seen = new Set<unknown>()): string[] {
  if (seen.has(schema)) return out;
  seen.add(schema);
  const def = (schema as any)._zod.def;
  switch (def.type) {
    case 'object': {
      const catchall = def.catchall?._zod?.def?.type;
      if (catchall !== 'never') out.push(path || '(root)');
      for (const [k, v] of Object.entries(def.shape)) looseObjects(v as z.ZodType, `${path}.${k}`, out, seen);
      break;
    }
    case 'array':
      looseObjects(def.element, `${path}[]`, out, seen);
      break;
    case 'union':
      for (const [i, o] of (def.options as z.ZodType[]).entries()) looseObjects(o, `${path}|${i}`, out, seen);
      break;
    case 'optional':
    case 'nullable':
    case 'default':
    case 'readonly':
    case 'catch':
    case 'nonoptional':
      looseObjects(def.innerType, path, out, seen);
      break;
    case 'pipe':
      looseObjects(def.in, path, out, seen);
      break;
    case 'record':
      out.push(`${path} (record)`);
      break;
  }
  return out;
}

test('every route’s body, query and params schema rejects unknown fields (strict objects all the way down)', () => {
  const loose: string[] = [];
  for (const rt of h.routes) {
    for (const part of ['body', 'query', 'params'] as const) {
      const s = rt[part];
      if (s) looseObjects(s, `${rt.method} ${rt.path} ${part}`, loose);
    }
  }
  assert.deepEqual(loose, []);
});
