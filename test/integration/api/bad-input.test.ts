import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ERROR_CODES } from '../../../src/errors.ts';
import { buildFence, type Caller, type Harness, rng, startHarness } from './fixture.ts';

// A corpus of bad requests. Each must answer 4xx application/problem+json with a known code and a
// detail (or errors list) that names the problem, within a time bound; the service must keep serving.

interface Case {
  name: string;
  method?: string;
  path?: string;
  as?: Caller;
  /** Raw body (string/Buffer) or a value sent as JSON. */
  raw?: string | Buffer;
  json?: unknown;
  headers?: Record<string, string>;
  status?: number;
  code?: string;
  /** Must appear in the problem's detail or its errors' paths/messages. */
  names?: RegExp;
}

const SEED = Number(process.env.TEST_SEED ?? Date.now() % 1_000_000);
const rand = rng(SEED);
const MAX_MS = 5000;

const square = (lon = 30.5, lat = 50.45, d = 0.001) => [
  [lon - d, lat - d],
  [lon + d, lat - d],
  [lon + d, lat + d],
  [lon - d, lat + d],
  [lon - d, lat - d],
];
const withGeometry = (geometry: unknown, id = 'bad') => ({ ...buildFence({ id }), geometry });
const withProps = (props: Record<string, unknown>) => {
  const f = buildFence({ id: 'bad' });
  return { ...f, properties: { ...f.properties, ...props } };
};

function corpus(): Case[] {
  const cases: Case[] = [];
  const post = (c: Omit<Case, 'method' | 'path'> & { path?: string }) =>
    cases.push({ method: 'POST', path: '/v1/geofences', as: 'retailerA', ...c });

  // 1. Malformed JSON.
  const malformed = [
    '',
    '{',
    '}',
    '{"type":',
    '{"type":"Feature",}',
    "{'type':'Feature'}",
    '{type:"Feature"}',
    '{"type":"Feature" "geometry":null}',
    '[1,2,',
    '{"a":NaN}',
    '{"a":Infinity}',
    '{"a":-Infinity}',
    '{"a":undefined}',
    '{"a":01}',
    '{"a":.5}',
    '{"a":0x10}',
    '{"a":"\\x41"}',
    '{"a":"unterminated}',
    '{"a":"tab\there"}',
    '/* comment */ {}',
    '{} // trailing',
    '{}{}',
    'nul',
    'tru',
    '"\\ud800',
    '{"a":1}}',
    '\u0000',
    '{"a":1e}',
    '{"a":--1}',
    '<xml/>',
  ];
  for (const raw of malformed) {
    post({
      name: `malformed JSON ${JSON.stringify(raw).slice(0, 30)}`,
      raw,
      headers: { 'content-type': 'application/json' },
      status: 400,
    });
  }
  post({
    name: 'invalid UTF-8 bytes',
    raw: Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]),
    headers: { 'content-type': 'application/json' },
  });
  const deep = 5000;
  post({
    name: 'deeply nested arrays',
    raw: `${'['.repeat(deep)}${']'.repeat(deep)}`,
    headers: { 'content-type': 'application/json' },
    status: 400,
  });
  post({
    name: 'deeply nested objects',
    raw: `${'{"a":'.repeat(deep)}1${'}'.repeat(deep)}`,
    headers: { 'content-type': 'application/json' },
    status: 400,
  });

  // 2. Valid JSON, wrong top-level shape.
  for (const json of [
    null,
    1,
    'Feature',
    true,
    [],
    [buildFence()],
    {},
    { type: 'Point' },
    { type: 'feature' },
    { type: 'GeometryCollection', geometries: [] },
  ]) {
    post({
      name: `top-level ${JSON.stringify(json).slice(0, 30)}`,
      json,
      status: 400,
      code: 'VALIDATION_FAILED',
    });
  }

  // 3. Wrong types in every field.
  const wrongTypes: [string, Record<string, unknown>, RegExp][] = [
    ['name number', { name: 42 }, /name/],
    ['name empty', { name: '' }, /name/],
    ['name huge', { name: 'x'.repeat(10_000) }, /name/],
    ['storeId null', { storeId: null }, /storeId/],
    ['storeId missing', { storeId: undefined }, /storeId/],
    ['tags string', { tags: 'mall' }, /tags/],
    ['tags numbers', { tags: [1, 2] }, /tags/],
    ['tags 51', { tags: Array.from({ length: 51 }, (_, i) => `t${i}`) }, /tags/],
    ['tag empty', { tags: [''] }, /tags/],
    ['maxAccuracyM string', { maxAccuracyM: '100' }, /maxAccuracyM/],
    ['maxAccuracyM negative', { maxAccuracyM: -5 }, /maxAccuracyM/],
    ['maxAccuracyM huge', { maxAccuracyM: 1e9 }, /maxAccuracyM/],
    ['timeZone number', { timeZone: 3 }, /timeZone/],
    ['timeZone unknown', { timeZone: 'Mars/Olympus' }, /time zone|TIME_ZONE/],
    ['address object', { address: { street: 'x' } }, /address/],
    ['address huge', { address: 'a'.repeat(600) }, /address/],
    ['id number', { id: 5 }, /id/],
    ['id empty', { id: '' }, /id/],
    ['id huge', { id: 'i'.repeat(500) }, /id/],
    ['radiusM on polygon', { radiusM: 100 }, /radius/i],
    ['center junk', { center: 'here' }, /center/],
  ];
  for (const [name, props, names] of wrongTypes)
    post({ name: `properties: ${name}`, json: withProps(props), names });
  post({
    name: 'properties missing',
    json: { type: 'Feature', geometry: { type: 'Polygon', coordinates: [square()] } },
    names: /properties/,
  });
  post({ name: 'properties null', json: { ...buildFence(), properties: null }, names: /properties/ });
  post({ name: 'Feature id object', json: { ...buildFence(), id: { a: 1 } }, names: /id/ });

  // 4. Geometry shapes.
  const geometries: [string, unknown, RegExp][] = [
    ['geometry string', 'POLYGON((0 0))', /geometry/],
    ['geometry type unknown', { type: 'Circle', coordinates: [1, 2] }, /geometry|type/],
    [
      'LineString',
      {
        type: 'LineString',
        coordinates: [
          [0, 0],
          [1, 1],
        ],
      },
      /geometry|type/,
    ],
    ['coordinates missing', { type: 'Polygon' }, /coordinates/],
    ['coordinates string', { type: 'Polygon', coordinates: '0,0' }, /coordinates/],
    ['coordinates flat', { type: 'Polygon', coordinates: [0, 0, 1, 1] }, /coordinates/],
    ['no rings', { type: 'Polygon', coordinates: [] }, /coordinates/],
    ['position with 1 number', { type: 'Polygon', coordinates: [[[0], [1, 1], [1, 0], [0]]] }, /coordinates/],
    [
      'position with 4 numbers',
      {
        type: 'Polygon',
        coordinates: [
          [
            [0, 0, 0, 0],
            [1, 1],
            [1, 0],
            [0, 0],
          ],
        ],
      },
      /coordinates/,
    ],
    [
      'position strings',
      {
        type: 'Polygon',
        coordinates: [
          [
            ['30', '50'],
            [1, 1],
            [1, 0],
            ['30', '50'],
          ],
        ],
      },
      /coordinates/,
    ],
    [
      'position nulls',
      {
        type: 'Polygon',
        coordinates: [
          [
            [null, null],
            [1, 1],
            [1, 0],
            [null, null],
          ],
        ],
      },
      /coordinates/,
    ],
    ['ring not closed', { type: 'Polygon', coordinates: [square().slice(0, 4)] }, /clos|RING_NOT_CLOSED/i],
    [
      'ring too short',
      {
        type: 'Polygon',
        coordinates: [
          [
            [30, 50],
            [30.001, 50],
            [30, 50],
          ],
        ],
      },
      /RING_TOO_SHORT|at least|short/i,
    ],
    [
      'ring degenerate (collinear)',
      {
        type: 'Polygon',
        coordinates: [
          [
            [30, 50],
            [30.001, 50],
            [30.002, 50],
            [30, 50],
          ],
        ],
      },
      /degenerate|area|RING_DEGENERATE|intersect/i,
    ],
    [
      'hole outside shell',
      { type: 'Polygon', coordinates: [square(30, 50), square(31, 51).reverse()] },
      /hole|outside/i,
    ],
    [
      'rings cross',
      { type: 'Polygon', coordinates: [square(30, 50, 0.002), square(30.002, 50, 0.001).reverse()] },
      /cross|hole|outside|intersect/i,
    ],
    ['empty MultiPolygon', { type: 'MultiPolygon', coordinates: [] }, /MultiPolygon|EMPTY|coordinates/i],
    ['MultiPolygon of empty', { type: 'MultiPolygon', coordinates: [[]] }, /coordinates/],
    ['area too large', { type: 'Polygon', coordinates: [square(30, 50, 1)] }, /area|AREA_TOO_LARGE/i],
    ['null geometry', null, /geometry/i],
    ['extra geometry field', { type: 'Polygon', coordinates: [square()], crs: 'x' }, /crs/],
  ];
  for (const [name, geometry, names] of geometries)
    post({ name: `geometry: ${name}`, json: withGeometry(geometry), names });
  // Circles.
  const circle = (radiusM: unknown, coordinates: unknown = [30.5, 50.45]) => ({
    ...buildFence({ id: 'c' }),
    geometry: { type: 'Point', coordinates },
    properties: { name: 'c', storeId: 's', radiusM },
  });
  for (const r of [0, -1, 1e7, '100', null])
    post({ name: `circle radius ${r}`, json: circle(r), names: /radius/i });
  post({ name: 'circle without radius', json: circle(undefined), names: /radius/i });
  post({ name: 'circle centre out of range', json: circle(100, [200, 50]), names: /range|-180|−180/i });

  // 5. Coordinates out of range, non-finite, seeded random.
  const outOfRange = [
    [181, 50],
    [-181, 50],
    [30, 91],
    [30, -91],
    [1e308, 0],
    [0, -1e308],
    [360, 0],
    [30, 90.0000001],
  ];
  for (const [lon, lat] of outOfRange) {
    const ring = square(30, 50);
    ring[1] = [lon, lat];
    post({
      name: `coordinate [${lon}, ${lat}]`,
      json: withGeometry({ type: 'Polygon', coordinates: [ring] }),
      names: /range|outside|lon|lat/i,
    });
  }
  for (const lit of ['NaN', 'Infinity', '-Infinity', '1e309', '-1e309']) {
    const ring = square();
    ring[2] = [12345.678, ring[2][1]];
    const body = JSON.stringify(withGeometry({ type: 'Polygon', coordinates: [ring] })).replace(
      '12345.678',
      lit,
    );
    post({ name: `coordinate literal ${lit}`, raw: body, headers: { 'content-type': 'application/json' } });
  }
  for (let i = 0; i < 30; i++) {
    const ring = square(30 + rand(), 50 + rand());
    const k = 1 + Math.floor(rand() * 3);
    const big = (rand() < 0.5 ? -1 : 1) * (180.0001 + rand() * 1000);
    ring[k] = rand() < 0.5 ? [big, ring[k][1]] : [ring[k][0], big / 2];
    post({
      name: `random out-of-range coordinate #${i}`,
      json: withGeometry({ type: 'Polygon', coordinates: [ring] }),
      names: /range|outside|lon|lat/i,
    });
  }

  // 6. Bow-tie polygons (self-intersecting), random sizes and places.
  for (let i = 0; i < 25; i++) {
    const lon = -170 + rand() * 340;
    const lat = -70 + rand() * 140;
    const w = 0.0005 + rand() * 0.01;
    const hgt = w * (0.3 + rand() * 2);
    const ring = [
      [lon, lat],
      [lon + w, lat + hgt],
      [lon + w, lat],
      [lon, lat + hgt * (0.5 + rand())],
      [lon, lat],
    ];
    post({
      name: `bow-tie #${i}`,
      json: withGeometry({ type: 'Polygon', coordinates: [ring] }),
      names: /intersect|SELF_INTERSECTION|degenerate/i,
    });
  }

  // 7. Huge arrays and bodies.
  const hugeRing: number[][] = [];
  const n = 100_000;
  for (let i = 0; i < n; i++) {
    const a = (2 * Math.PI * i) / n;
    hugeRing.push([+(30 + 0.01 * Math.cos(a)).toFixed(6), +(50 + 0.01 * Math.sin(a)).toFixed(6)]);
  }
  hugeRing.push(hugeRing[0]);
  post({
    name: '100k-vertex polygon',
    json: withGeometry({ type: 'Polygon', coordinates: [hugeRing] }),
    names: /vertices|TOO_MANY_VERTICES/i,
  });
  post({
    name: '10001-feature collection',
    json: { type: 'FeatureCollection', features: Array.from({ length: 10_001 }, () => 0) },
    names: /features/,
  });
  post({ name: 'empty collection', json: { type: 'FeatureCollection', features: [] }, names: /features/ });
  post({
    name: 'collection features object',
    json: { type: 'FeatureCollection', features: {} },
    names: /features/,
  });
  post({
    name: 'oversized body',
    raw: `{"pad":"${'x'.repeat(6 * 1024 * 1024)}"}`,
    headers: { 'content-type': 'application/json' },
    status: 413,
    code: 'BODY_TOO_LARGE',
  });
  post({
    name: 'huge tags array',
    json: withProps({ tags: Array.from({ length: 100_000 }, () => 'a') }),
    names: /tags/,
  });

  // 8. Wrong content types and encodings.
  for (const ct of [
    'text/plain',
    'application/x-www-form-urlencoded',
    'multipart/form-data; boundary=x',
    'application/xml',
    'application/octet-stream',
    'text/json',
    'image/png',
  ]) {
    post({
      name: `content type ${ct}`,
      raw: JSON.stringify(buildFence()),
      headers: { 'content-type': ct },
      status: 415,
      code: 'UNSUPPORTED_MEDIA_TYPE',
    });
  }
  post({
    name: 'no content type',
    raw: JSON.stringify(buildFence()),
    status: 415,
    code: 'UNSUPPORTED_MEDIA_TYPE',
  });
  post({ name: 'no body at all', status: 400, code: 'VALIDATION_FAILED', names: /body/ });
  post({
    name: 'charset latin1',
    raw: JSON.stringify(buildFence()),
    headers: { 'content-type': 'application/json; charset=latin1' },
    status: 415,
  });
  post({
    name: 'unknown content encoding',
    raw: JSON.stringify(buildFence()),
    headers: { 'content-type': 'application/json', 'content-encoding': 'bogus' },
    status: 415,
  });
  post({
    name: 'gzip header on plain body',
    raw: JSON.stringify(buildFence()),
    headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
    status: 400,
  });
  cases.push({
    name: 'body on a GET',
    method: 'GET',
    path: '/v1/geofences',
    as: 'analyst',
    raw: '{}',
    headers: { 'content-type': 'application/json' },
    status: 415,
  });

  // 9. Mass assignment and unknown fields.
  const massProps = [
    'tenantId',
    'owner',
    'status',
    'version',
    'createdBy',
    'deleted',
    '__proto__',
    'constructor',
    'isAdmin',
  ];
  for (const key of massProps) {
    const raw = JSON.stringify(buildFence({ id: 'mass' })).replace(
      '"properties":{',
      `"properties":{"${key}":{"polluted":true},`,
    );
    post({
      name: `unknown property ${key}`,
      raw,
      headers: { 'content-type': 'application/json' },
      status: 400,
      names: new RegExp(key.replace(/_/g, '_')),
    });
    const top = JSON.stringify(buildFence({ id: 'mass' })).replace('{"type"', `{"${key}":1,"type"`);
    post({
      name: `unknown top-level ${key}`,
      raw: top,
      headers: { 'content-type': 'application/json' },
      status: 400,
      names: new RegExp(key),
    });
  }
  post({
    name: 'tenant of another retailer in body',
    json: buildFence({ id: 'x', tenant: 'globex' }),
    status: 400,
    names: /tenant/,
  });
  post({
    name: 'tenant with bad characters',
    json: buildFence({ id: 'x', tenant: "acme'; DROP TABLE" }),
    status: 400,
    names: /tenant/,
  });
  cases.push({
    name: 'PUT with a body id other than the URL',
    method: 'PUT',
    path: '/v1/geofences/base?version=1',
    as: 'retailerA',
    json: buildFence({ id: 'other' }),
    status: 400,
    names: /id/,
  });
  cases.push({
    name: 'PUT with If-Match junk',
    method: 'PUT',
    path: '/v1/geofences/base',
    as: 'retailerA',
    json: buildFence(),
    headers: { 'if-match': 'banana' },
    status: 400,
    names: /If-Match/,
  });
  cases.push({
    name: 'PUT with version 0',
    method: 'PUT',
    path: '/v1/geofences/base?version=0',
    as: 'retailerA',
    json: buildFence(),
    status: 400,
    names: /version/,
  });
  cases.push({
    name: 'PUT with version -1',
    method: 'PUT',
    path: '/v1/geofences/base?version=-1',
    as: 'retailerA',
    json: buildFence(),
    status: 400,
    names: /version/,
  });

  // 10. Query parameters.
  const queries: [string, RegExp][] = [
    ['limit=abc', /limit/],
    ['limit=0', /limit/],
    ['limit=100000', /limit/],
    ['limit=1.5', /limit/],
    ['limit=-1', /limit/],
    ['limit=1&limit=2', /limit/],
    ['bbox=1,2,3', /bbox/],
    ['bbox=a,b,c,d', /bbox/],
    ['bbox=1,2,3,4,5', /bbox/],
    ['bbox=10,10,0,0', /bbox/],
    ['bbox=-200,0,0,10', /bbox/],
    ['bbox=0,-100,10,10', /bbox/],
    ['bbox=NaN,0,1,1', /bbox/],
    ['bbox=,,,', /bbox/],
    ['cursor=not-a-cursor', /cursor/],
    [`cursor=${'x'.repeat(600)}`, /cursor/],
    ['tenant=a%20b', /tenant/],
    ['tenant=', /tenant/],
    ['unknown=1', /unknown/],
    ['tag=', /tag/],
    [`tag=${'t'.repeat(100)}`, /tag/],
  ];
  for (const [q, names] of queries) {
    cases.push({
      name: `list ?${q.slice(0, 30)}`,
      method: 'GET',
      path: `/v1/geofences?${q}`,
      as: 'analyst',
      status: 400,
      names,
    });
  }
  post({
    name: 'bulk mode bogus',
    path: '/v1/geofences?mode=merge',
    json: buildFence(),
    status: 400,
    names: /mode/,
  });
  cases.push({
    name: 'id too long in path',
    method: 'GET',
    path: `/v1/geofences/${'i'.repeat(300)}`,
    as: 'analyst',
    status: 400,
    names: /id/,
  });
  cases.push({
    name: 'path with broken %-encoding',
    method: 'GET',
    path: '/v1/geofences/%E0%A4%A',
    as: 'analyst',
    status: 400,
    names: /decode|param/i,
  });
  cases.push({
    name: 'key id malformed',
    method: 'GET',
    path: '/v1/keys/zzz',
    as: 'admin',
    status: 400,
    names: /id/,
  });
  cases.push({
    name: 'audit limit too big',
    method: 'GET',
    path: '/v1/audit?limit=5000',
    as: 'analyst',
    status: 400,
    names: /limit/,
  });
  cases.push({
    name: 'audit entity bogus',
    method: 'GET',
    path: '/v1/audit?entity=users',
    as: 'analyst',
    status: 400,
    names: /entity/,
  });

  // 11. API key creation.
  const keyBodies: [string, unknown, RegExp][] = [
    ['role bogus', { name: 'k', role: 'root' }, /role/],
    ['retailer without tenant', { name: 'k', role: 'retailer' }, /tenant/],
    ['viewer with tenant', { name: 'k', role: 'viewer', tenant: 'acme' }, /tenant/],
    ['name empty', { name: '', role: 'viewer' }, /name/],
    ['name blank', { name: '   ', role: 'viewer' }, /name/],
    ['name huge', { name: 'n'.repeat(1000), role: 'viewer' }, /name/],
    ['name missing', { role: 'viewer' }, /name/],
    ['role missing', { name: 'k' }, /role/],
    ['role array', { name: 'k', role: ['admin'] }, /role/],
    ['hash smuggled', { name: 'k', role: 'viewer', hash: 'abc' }, /hash/],
    ['keyId smuggled', { name: 'k', role: 'viewer', keyId: '0123456789abcdef' }, /keyId/],
    ['tenant bad chars', { name: 'k', role: 'retailer', tenant: '../etc' }, /tenant/],
    ['array body', [{ name: 'k', role: 'viewer' }], /root|expected object/i],
  ];
  for (const [name, json, names] of keyBodies) {
    cases.push({
      name: `key: ${name}`,
      method: 'POST',
      path: '/v1/keys',
      as: 'admin',
      json,
      status: 400,
      names,
    });
  }

  // 12. Random mutations of a valid fence: a leaf replaced by a value of another type.
  // Each leaf lists the replacement values that would still be valid there; those are skipped.
  const leaves: [(f: any, v: unknown) => void, unknown[]][] = [
    [(f, v) => (f.type = v), []],
    [(f, v) => (f.geometry.type = v), []],
    [(f, v) => (f.geometry.coordinates = v), []],
    [(f, v) => (f.geometry.coordinates[0] = v), []],
    [(f, v) => (f.geometry.coordinates[0][2] = v), []],
    [(f, v) => (f.geometry.coordinates[0][2][0] = v), []],
    [(f, v) => (f.properties = v), []],
    [(f, v) => (f.properties.name = v), ['x']],
    [(f, v) => (f.properties.tags = v), [[]]],
    [(f, v) => (f.properties.storeId = v), ['x']],
  ];
  const values = [null, true, 0, -1, 'x', '', [], {}, [[]], [null], Number.POSITIVE_INFINITY, { $gt: '' }];
  for (let i = 0; i < 40; ) {
    const li = Math.floor(rand() * leaves.length);
    const vi = Math.floor(rand() * values.length);
    const [set, stillValid] = leaves[li];
    const value = values[vi];
    if (stillValid.some((v) => JSON.stringify(v) === JSON.stringify(value))) continue;
    const f = buildFence({ id: `mut-${i}` }) as any;
    set(f, value);
    post({ name: `mutation #${i} (leaf ${li} ← ${JSON.stringify(value)})`, json: f });
    i++;
  }
  return cases;
}

let h: Harness;
before(async () => {
  h = await startHarness({ bodyLimit: '5mb' });
  const base = await h.call('POST', '/v1/geofences', { as: 'retailerA', json: buildFence({ id: 'base' }) });
  assert.equal(base.status, 201);
});
after(async () => {
  await h?.close();
});

test('every body of the bad-input corpus answers 4xx problem+json naming the problem, in bounded time', async (t) => {
  const cases = corpus();
  assert.ok(cases.length >= 200, `corpus has ${cases.length} cases`);
  const failures: string[] = [];
  const codes = new Set<string>(ERROR_CODES);
  let slowest = { name: '', ms: 0 };
  for (const c of cases) {
    const r = await h.call(c.method ?? 'POST', c.path ?? '/v1/geofences', {
      as: c.as,
      json: c.json,
      body: c.raw,
      headers: c.headers,
    });
    if (r.ms > slowest.ms) slowest = { name: c.name, ms: r.ms };
    const where = `${c.name}: ${r.status} ${r.text.slice(0, 160)}`;
    if (r.status < 400 || r.status >= 500) failures.push(`${where} (want 4xx)`);
    else if (c.status !== undefined && r.status !== c.status) failures.push(`${where} (want ${c.status})`);
    else if (!/^application\/problem\+json/.test(r.headers.get('content-type') ?? ''))
      failures.push(`${where} (not problem+json)`);
    else if (!codes.has(r.json?.code)) failures.push(`${where} (unknown code)`);
    else if (c.code && r.json.code !== c.code) failures.push(`${where} (want ${c.code})`);
    // A conflict means an earlier corpus body was stored: that body was not bad at all.
    else if (r.json.code === 'VERSION_CONFLICT') failures.push(`${where} (an earlier case was accepted)`);
    else if (r.json.status !== r.status || !r.json.detail || !r.json.type || !r.json.title)
      failures.push(`${where} (incomplete problem)`);
    else if (c.names) {
      const text = [
        r.json.detail,
        r.json.problem ?? '',
        ...(r.json.errors ?? []).map((e: any) => `${e.path} ${e.message}`),
      ].join(' | ');
      if (!c.names.test(text))
        failures.push(`${c.name}: problem does not name ${c.names}: ${text.slice(0, 300)}`);
    }
    if (r.ms > MAX_MS) failures.push(`${c.name}: took ${Math.round(r.ms)} ms`);
  }
  t.diagnostic(`${cases.length} cases, slowest ${slowest.name} ${Math.round(slowest.ms)} ms, seed ${SEED}`);
  assert.deepEqual(failures, [], `seed ${SEED} (TEST_SEED=${SEED} replays it)`);
});

test('the service still serves after the corpus: health, reads and a valid create', async () => {
  assert.equal((await h.call('GET', '/livez')).status, 200);
  assert.equal((await h.call('GET', '/readyz')).status, 200);
  const created = await h.call('POST', '/v1/geofences', {
    as: 'retailerA',
    json: buildFence({ id: 'after-corpus', lon: 20, lat: 20 }),
  });
  assert.equal(created.status, 201, created.text);
  const got = await h.call('GET', '/v1/geofences/base', { as: 'retailerA' });
  assert.equal(got.status, 200);
  assert.equal(got.json.version, 1, 'no corpus request changed the base fence');
  // Nothing from the corpus was stored: only the two good fences exist.
  const list = await h.call('GET', '/v1/geofences?limit=1000', { as: 'analyst' });
  assert.deepEqual(list.json.items.map((f: any) => f.id).sort(), ['after-corpus', 'base']);
  assert.equal(({} as any).polluted, undefined, 'no prototype pollution');
});
