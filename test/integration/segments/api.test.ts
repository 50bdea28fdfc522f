import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import {
  type ApiServer,
  createApiServer,
  createKeyRing,
  createMetricsRegistry,
  type KeyRing,
  type Role,
} from '../../../src/api/index.ts';
import { segmentRoutes } from '../../../src/api/routes/segments.ts';
import { subscriberRoutes } from '../../../src/api/routes/subscribers.ts';
import { createLogger } from '../../../src/logger.ts';
import {
  createProfileRepository,
  createProfileStore,
  createSegmentService,
  generateSubscribers,
  loadSegmentCatalogue,
  type ProfileStore,
  type Segment,
  type SegmentService,
} from '../../../src/segments/index.ts';
import { createDefinitions, createStore, type Store } from '../../../src/store/index.ts';

const logger = createLogger({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
const ADMIN_KEY = 'segments-admin-key-0123456789abcdef';
const NOW = Date.UTC(2026, 10, 23, 12);
type Caller = 'none' | 'admin' | 'analyst' | 'viewer' | 'ingest' | 'retailer';

let dir: string;
let store: Store;
let keys: KeyRing;
let server: ApiServer;
let url: string;
let profiles: ProfileStore;
let segments: SegmentService;
const tokens: Partial<Record<Caller, string>> = {};

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'geotrigger-segments-api-'));
  store = await createStore({
    config: {
      user: 'default',
      password: '',
      database: 'segapi',
      dataDir: dir,
      ttlDays: 30,
      minGroupSize: 10,
    },
    logger,
  });
  keys = createKeyRing({ store, logger, adminKey: ADMIN_KEY, refreshMs: 60_000 });
  await keys.start();
  profiles = createProfileStore({ capacity: 4096 });
  for (const p of generateSubscribers({ seed: 5, count: 3000, nowMs: NOW })) profiles.upsert(p.sid, p);
  const repository = createProfileRepository({ store, profiles, logger });
  segments = createSegmentService({
    definitions: createDefinitions<Segment>({ store, table: 'segments' }),
    profiles,
    logger,
  });
  await segments.seed(await loadSegmentCatalogue(new URL('../../../segments/', import.meta.url).pathname));
  await segments.refresh();
  server = createApiServer({
    logger,
    auth: keys.authenticator,
    routes: [
      ...segmentRoutes({ segments, profiles, clock: () => NOW }),
      ...subscriberRoutes({ profiles, repository, importLimit: 4096 }),
    ],
    readiness: { store: () => store.ping() },
    metricsRegistry: createMetricsRegistry(),
    bodyLimit: '1mb',
    rateLimitPerMin: 1_000_000,
    validateResponses: true,
  });
  url = `http://127.0.0.1:${await server.listen(0, '127.0.0.1')}`;
  tokens.admin = ADMIN_KEY;
  for (const role of ['analyst', 'viewer', 'ingest'] as Role[]) {
    tokens[role as Caller] = (await keys.create({ name: role, role }, 'test')).token;
  }
  tokens.retailer = (await keys.create({ name: 'r', role: 'retailer', tenant: 'acme' }, 'test')).token;
});

after(async () => {
  keys?.stop();
  await server?.close();
  await store?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function call(
  method: string,
  path: string,
  as: Caller,
  body?: unknown,
  headers: Record<string, string> = {},
) {
  const h: Record<string, string> = { ...headers };
  if (as !== 'none') h.authorization = `Bearer ${tokens[as]}`;
  let payload: string | undefined;
  if (typeof body === 'string') payload = body;
  else if (body !== undefined) {
    payload = JSON.stringify(body);
    h['content-type'] ??= 'application/json';
  }
  const res = await fetch(url + path, { method, headers: h, body: payload });
  const text = await res.text();
  let json: any;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, json, text, headers: res.headers };
}

const buildSegment = (overrides: Partial<Segment> = {}) => ({
  id: 'students',
  name: 'Students',
  rule: {
    all: [
      { attr: 'age', op: 'between', value: [17, 24] },
      { attr: 'tariff_plan', op: 'eq', value: 'youth' },
    ],
  },
  ...overrides,
});

test('who may call which segment and subscriber route', async () => {
  const sid = profiles.sidAt(0)!;
  const matrix: [string, string, Partial<Record<Caller, number>>, unknown?][] = [
    ['GET', '/v1/segments', { none: 401, admin: 200, analyst: 200, viewer: 200, ingest: 403, retailer: 200 }],
    ['GET', '/v1/segments/attributes', { none: 401, analyst: 200, retailer: 200, ingest: 403 }],
    [
      'GET',
      '/v1/segments/parents/size',
      { none: 401, admin: 200, analyst: 200, viewer: 200, ingest: 403, retailer: 200 },
    ],
    [
      'GET',
      '/v1/segments/parents/sample',
      { none: 401, admin: 200, analyst: 200, viewer: 403, ingest: 403, retailer: 403 },
    ],
    ['GET', '/v1/segments/parents/sql', { analyst: 200, viewer: 403, retailer: 403 }],
    [
      'POST',
      '/v1/segments/preview',
      { analyst: 200, viewer: 403, retailer: 403, ingest: 403 },
      { rule: { attr: 'age', op: 'exists' } },
    ],
    [
      'POST',
      '/v1/segments',
      { viewer: 403, retailer: 403, ingest: 403, none: 401 },
      buildSegment({ id: 'nope' }),
    ],
    ['DELETE', '/v1/segments/parents', { viewer: 403, retailer: 403, ingest: 403 }],
    ['GET', `/v1/subscribers/${sid}`, { analyst: 200, admin: 200, viewer: 403, retailer: 403, ingest: 403 }],
    ['GET', '/v1/subscribers/stats', { analyst: 200, viewer: 200, retailer: 403, ingest: 403 }],
    ['PUT', `/v1/subscribers/${sid}`, { retailer: 403, viewer: 403 }, { age: 30 }],
    ['DELETE', `/v1/subscribers/${sid}`, { retailer: 403, viewer: 403 }],
    ['POST', '/v1/subscribers/import', { retailer: 403, viewer: 403, none: 401 }, '{"sid":"x1"}\n'],
  ];
  for (const [method, path, expected, body] of matrix) {
    for (const [as, status] of Object.entries(expected)) {
      const headers: Record<string, string> = path.endsWith('/import')
        ? { 'content-type': 'application/x-ndjson' }
        : {};
      const r = await call(method, path, as as Caller, body, headers);
      assert.equal(r.status, status, `${method} ${path} as ${as}: ${r.text.slice(0, 200)}`);
    }
  }
});

test('an analyst creates, reads, replaces and deletes a segment with versions', async () => {
  const seen: string[][] = [];
  const unsubscribe = segments.onChange((map) =>
    seen.push([...map.keys()].filter((id) => id === 'students')),
  );
  const created = await call('POST', '/v1/segments', 'analyst', buildSegment());
  assert.equal(created.status, 201, created.text);
  assert.equal(created.json.version, 1);
  assert.deepEqual(created.json.shareRules, { roundTo: 100, minSize: 1000 });
  assert.equal((await call('POST', '/v1/segments', 'analyst', buildSegment())).status, 409);
  const stale = await call('PUT', '/v1/segments/students?version=7', 'analyst', buildSegment({ name: 'x' }));
  assert.equal(stale.status, 409);
  const replaced = await call(
    'PUT',
    '/v1/segments/students',
    'analyst',
    buildSegment({ name: 'Students 2' }),
    {
      'if-match': '"1"',
    },
  );
  assert.equal(replaced.status, 200, replaced.text);
  assert.equal(replaced.json.version, 2);
  assert.equal((await call('GET', '/v1/segments/students', 'viewer')).json.name, 'Students 2');
  assert.equal((await call('DELETE', '/v1/segments/students', 'analyst')).status, 204);
  assert.equal((await call('GET', '/v1/segments/students', 'analyst')).status, 404);
  unsubscribe();
  // the decision engine's map follows every change: created, replaced, deleted
  assert.deepEqual(seen, [['students'], ['students'], []]);
});

test('an invalid rule answers 400 SEGMENT_INVALID naming the reason and the path', async () => {
  const cases: [unknown, string, string][] = [
    [{ attr: 'shoe_size', op: 'eq', value: 1 }, 'unknown_attribute', 'rule.attr'],
    [{ attr: 'age', op: 'gt', value: 'old' }, 'wrong_value_type', 'rule.value'],
    [{ attr: 'device_os', op: 'eq', value: 'symbian' }, 'value_not_allowed', 'rule.value'],
    [{ attr: 'gender', op: 'in', values: [] }, 'empty_list', 'rule.values'],
    [{ all: [] }, 'empty_list', 'rule.all'],
  ];
  for (const [rule, reason, path] of cases) {
    const r = await call(
      'POST',
      '/v1/segments',
      'analyst',
      buildSegment({ id: 'bad', rule: rule as Segment['rule'] }),
    );
    assert.equal(r.status, 400, r.text);
    assert.equal(r.json.code, 'SEGMENT_INVALID');
    assert.equal(r.json.problem, reason);
    assert.equal(r.json.errors[0].path, path);
  }
  const malformed = await call(
    'POST',
    '/v1/segments',
    'analyst',
    buildSegment({ id: 'bad', rule: { attr: 'age', op: 'like' } as never }),
  );
  assert.equal(malformed.status, 400);
});

test('operators get exact sizes and breakdowns; retailers only offered segments, rounded, never below the minimum', async () => {
  const exact = await call('GET', '/v1/segments/parents/size?by=gender', 'analyst');
  assert.equal(exact.status, 200, exact.text);
  assert.equal(exact.json.count, segments.size('parents', NOW).count);
  const sum = Object.values(exact.json.breakdown as Record<string, number>).reduce((a, b) => a + b, 0);
  assert.equal(sum, exact.json.count);

  const shared = await call('GET', '/v1/segments/parents/size', 'retailer');
  assert.equal(shared.status, 200, shared.text);
  assert.equal(shared.json.size % 100, 0);
  assert.ok(Math.abs(shared.json.size - exact.json.count) <= 50);
  assert.equal(shared.json.count, undefined);
  assert.equal((await call('GET', '/v1/segments/parents/size?by=gender', 'retailer')).status, 403);

  const small = await call('GET', '/v1/segments/premium-postpaid-ios/size', 'retailer');
  assert.ok(segments.size('premium-postpaid-ios', NOW).count < 1000);
  assert.deepEqual([small.json.size, small.json.belowMinimum], [null, true]);

  const list = await call('GET', '/v1/segments', 'retailer');
  const ids = list.json.items.map((s: { id: string }) => s.id);
  assert.ok(ids.includes('parents'));
  assert.ok(!ids.includes('prepaid-churn-risk'), 'not offered to retailers');
  assert.equal(list.json.items[0].rule, undefined);
  assert.equal((await call('GET', '/v1/segments/prepaid-churn-risk', 'retailer')).status, 404);
  assert.equal((await call('GET', '/v1/segments/prepaid-churn-risk/size', 'retailer')).status, 404);
});

test('a sample holds matching pseudonyms; preview sizes an unsaved rule; sql shows the segment in ClickHouse', async () => {
  const sample = await call('GET', '/v1/segments/parents/sample?limit=5', 'analyst');
  assert.equal(sample.json.sids.length, 5);
  const parents = segments.get('parents')!.compiled;
  for (const sid of sample.json.sids) assert.ok(parents.matchesSid(profiles, sid, NOW));
  const preview = await call('POST', '/v1/segments/preview', 'analyst', {
    rule: { attr: 'device_os', op: 'eq', value: 'ios' },
    by: 'device_price_tier',
  });
  assert.equal(preview.status, 200, preview.text);
  assert.ok(preview.json.count > 0);
  const sql = await call('GET', '/v1/segments/parents/sql', 'analyst');
  assert.match(sql.json.sql, /FROM subscribers FINAL WHERE/);
});

test('profile upload imports good rows, reports bad ones, and persists to the subscribers table', async () => {
  const ndjson = [
    '{"sid":"up-1","age":33,"interests":["coffee"]}',
    '{"sid":"up-2","age":3}',
    'oops',
    '{"sid":"up-3"}',
  ].join('\n');
  const r = await call('POST', '/v1/subscribers/import', 'analyst', ndjson, {
    'content-type': 'application/x-ndjson',
  });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.loaded, 2);
  assert.equal(r.json.rejected, 2);
  assert.deepEqual(
    r.json.errors.map((e: { line: number }) => e.line),
    [2, 3],
  );
  const csv = 'sid,age,gender\nup-4,45,female\nup-5,45,alien\n';
  const c = await call('POST', '/v1/subscribers/import', 'analyst', csv, { 'content-type': 'text/csv' });
  assert.deepEqual([c.json.loaded, c.json.rejected], [1, 1]);
  assert.equal((await call('GET', '/v1/subscribers/up-4', 'analyst')).json.gender, 'female');
  const rows = await store.query<{ sid: string }>(
    `SELECT sid FROM segapi.subscribers FINAL WHERE sid LIKE 'up-%' ORDER BY sid`,
  );
  assert.deepEqual(
    rows.map((x) => x.sid),
    ['up-1', 'up-3', 'up-4'],
  );
  const big = Array.from({ length: 200 }, (_, i) => `{"sid":"big-${i}","age":30,"gender":"female"}`).join(
    '\n',
  );
  const tooBig = await call('POST', '/v1/subscribers/import', 'analyst', big, {
    'content-type': 'application/x-ndjson',
  });
  assert.equal(tooBig.status, 413, tooBig.text);
  assert.equal(tooBig.json.code, 'BODY_TOO_LARGE');
  const wrongType = await call('POST', '/v1/subscribers/import', 'analyst', 'x', {
    'content-type': 'text/plain',
  });
  assert.equal(wrongType.status, 415);
});

test('one profile is replaced, read and erased through the API', async () => {
  const put = await call('PUT', '/v1/subscribers/one-1', 'analyst', {
    age: 40,
    device_os: 'ios',
    interests: ['travel'],
  });
  assert.equal(put.status, 200, put.text);
  assert.equal(put.json.device_os, 'ios');
  const bad = await call('PUT', '/v1/subscribers/one-1', 'analyst', { age: 400 });
  assert.equal(bad.status, 400);
  const unknown = await call('PUT', '/v1/subscribers/one-1', 'analyst', { shoe_size: 44 });
  assert.equal(unknown.status, 400);
  assert.equal((await call('DELETE', '/v1/subscribers/one-1', 'analyst')).status, 204);
  assert.equal((await call('GET', '/v1/subscribers/one-1', 'analyst')).status, 404);
  assert.equal((await call('DELETE', '/v1/subscribers/one-1', 'analyst')).status, 404);
});
