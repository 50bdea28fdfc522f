import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isAppError } from '../../../src/errors.ts';
import {
  DEFAULT_FENCE_LIMITS,
  type FenceProblem,
  loadFeatureCollection,
  validateFence,
} from '../../../src/geo/index.ts';

const square = (lon = 30.5, lat = 50.45, d = 0.001) => [
  [lon, lat],
  [lon + d, lat],
  [lon + d, lat + d],
  [lon, lat + d],
  [lon, lat],
];

function buildFeature(overrides: { geometry?: unknown; properties?: Record<string, unknown> } = {}) {
  return {
    type: 'Feature',
    geometry: 'geometry' in overrides ? overrides.geometry : { type: 'Polygon', coordinates: [square()] },
    properties: {
      id: 'store-1',
      tenant: 'silpo',
      name: 'Silpo Khreshchatyk',
      storeId: 'S-1',
      ...overrides.properties,
    },
  };
}

function problemOf(input: unknown, limits = DEFAULT_FENCE_LIMITS): FenceProblem | undefined {
  try {
    validateFence(input, limits);
    return undefined;
  } catch (err) {
    assert.ok(isAppError(err, 'GEOFENCE_INVALID'), `unexpected error ${err}`);
    assert.match(err.message, /store-1|\(unnamed\)/, 'the message names the feature');
    return (err.details as { problem: FenceProblem }).problem;
  }
}

test('a valid polygon fence loads with defaults filled in', () => {
  const fence = validateFence(buildFeature());
  assert.equal(fence.kind, 'polygon');
  assert.equal(fence.props.maxAccuracyM, DEFAULT_FENCE_LIMITS.defaultMaxAccuracyM);
  assert.equal(fence.props.timeZone, 'Europe/Kyiv');
  assert.deepEqual(fence.props.tags, []);
});

test('clockwise shells and counter-clockwise holes are re-oriented, not rejected', () => {
  const shell = square(30.5, 50.45, 0.01).reverse();
  const hole = square(30.503, 50.453, 0.002);
  const fence = validateFence(buildFeature({ geometry: { type: 'Polygon', coordinates: [shell, hole] } }));
  assert.equal(fence.kind, 'polygon');
  if (fence.kind !== 'polygon') return;
  const area2 = (ring: number[][]) =>
    ring.slice(0, -1).reduce((s, p, i) => s + p[0] * ring[i + 1][1] - ring[i + 1][0] * p[1], 0);
  assert.ok(area2(fence.polygons[0][0]) > 0, 'shell counter-clockwise');
  assert.ok(area2(fence.polygons[0][1]) < 0, 'hole clockwise');
});

test('a circle fence is a Point with radiusM, or a center with radiusM', () => {
  const a = validateFence(
    buildFeature({ geometry: { type: 'Point', coordinates: [30.5, 50.45] }, properties: { radiusM: 150 } }),
  );
  const b = validateFence(
    buildFeature({ geometry: null, properties: { center: [30.5, 50.45], radiusM: 150 } }),
  );
  assert.equal(a.kind, 'circle');
  assert.deepEqual(a, b);
});

const cases: [string, unknown, FenceProblem][] = [
  [
    'a longitude above 180',
    buildFeature({ geometry: { type: 'Polygon', coordinates: [square(180.5)] } }),
    'COORDINATE_OUT_OF_RANGE',
  ],
  [
    'a latitude below -90',
    buildFeature({ geometry: { type: 'Polygon', coordinates: [square(30, -91)] } }),
    'COORDINATE_OUT_OF_RANGE',
  ],
  [
    'a NaN coordinate',
    buildFeature({
      geometry: {
        type: 'Polygon',
        coordinates: [
          [
            [Number.NaN, 50],
            [30.1, 50],
            [30.1, 50.1],
            [Number.NaN, 50],
          ],
        ],
      },
    }),
    'COORDINATE_NOT_FINITE',
  ],
  [
    'an Infinity coordinate',
    buildFeature({
      geometry: { type: 'Point', coordinates: [Number.POSITIVE_INFINITY, 50] },
      properties: { radiusM: 10 },
    }),
    'COORDINATE_NOT_FINITE',
  ],
  [
    'an unclosed ring',
    buildFeature({
      geometry: {
        type: 'Polygon',
        coordinates: [
          square()
            .slice(0, 4)
            .concat([[30.5001, 50.45]]),
        ],
      },
    }),
    'RING_NOT_CLOSED',
  ],
  [
    'a ring of 3 positions',
    buildFeature({
      geometry: {
        type: 'Polygon',
        coordinates: [
          [
            [30, 50],
            [30.1, 50],
            [30, 50],
          ],
        ],
      },
    }),
    'RING_TOO_SHORT',
  ],
  [
    'a bow-tie ring',
    buildFeature({
      geometry: {
        type: 'Polygon',
        coordinates: [
          [
            [30, 50],
            [30.001, 50.001],
            [30.001, 50],
            [30, 50.001],
            [30, 50],
          ],
        ],
      },
    }),
    'SELF_INTERSECTION',
  ],
  [
    'a ring that folds back on itself',
    buildFeature({
      geometry: {
        type: 'Polygon',
        coordinates: [
          [
            [30, 50],
            [30.002, 50],
            [30.001, 50],
            [30.001, 50.001],
            [30, 50],
          ],
        ],
      },
    }),
    'SELF_INTERSECTION',
  ],
  [
    'a hole outside its shell',
    buildFeature({
      geometry: { type: 'Polygon', coordinates: [square(30.5, 50.45, 0.001), square(30.6, 50.45, 0.0005)] },
    }),
    'HOLE_OUTSIDE_SHELL',
  ],
  [
    'a hole crossing its shell',
    buildFeature({
      geometry: {
        type: 'Polygon',
        coordinates: [square(30.5, 50.45, 0.001), square(30.5005, 50.4505, 0.001)],
      },
    }),
    'RINGS_CROSS',
  ],
  [
    'a radius of zero',
    buildFeature({ geometry: { type: 'Point', coordinates: [30.5, 50.45] }, properties: { radiusM: 0 } }),
    'RADIUS_OUT_OF_RANGE',
  ],
  [
    'a radius above 50 km',
    buildFeature({
      geometry: { type: 'Point', coordinates: [30.5, 50.45] },
      properties: { radiusM: 50_001 },
    }),
    'RADIUS_OUT_OF_RANGE',
  ],
  [
    'an empty MultiPolygon',
    buildFeature({ geometry: { type: 'MultiPolygon', coordinates: [] } }),
    'EMPTY_MULTIPOLYGON',
  ],
  [
    'a polygon larger than the area limit',
    buildFeature({ geometry: { type: 'Polygon', coordinates: [square(30, 50, 0.5)] } }),
    'AREA_TOO_LARGE',
  ],
  [
    'an unknown time zone',
    buildFeature({ properties: { timeZone: 'Europe/Atlantis' } }),
    'TIME_ZONE_INVALID',
  ],
  ['an unknown property', buildFeature({ properties: { owner: 'someone' } }), 'SCHEMA'],
  [
    'a LineString geometry',
    buildFeature({
      geometry: {
        type: 'LineString',
        coordinates: [
          [30, 50],
          [31, 51],
        ],
      },
    }),
    'SCHEMA',
  ],
  ['not an object at all', 'hello', 'SCHEMA'],
];

for (const [what, input, problem] of cases) {
  test(`a fence with ${what} is rejected as ${problem}`, () => {
    assert.equal(problemOf(input), problem);
  });
}

test('more vertices than the configured limit are rejected', () => {
  const ring: number[][] = [];
  for (let i = 0; i < 30; i++) {
    const a = (i / 30) * 2 * Math.PI;
    ring.push([30.5 + 0.001 * Math.cos(a), 50.45 + 0.001 * Math.sin(a)]);
  }
  ring.push(ring[0]);
  const input = buildFeature({ geometry: { type: 'Polygon', coordinates: [ring] } });
  assert.equal(problemOf(input, { ...DEFAULT_FENCE_LIMITS, maxVertices: 20 }), 'TOO_MANY_VERTICES');
  assert.equal(problemOf(input), undefined);
});

test('a 100k-vertex polygon is rejected quickly by the vertex limit', () => {
  const ring: number[][] = [];
  for (let i = 0; i < 100_000; i++) {
    const a = (i / 100_000) * 2 * Math.PI;
    ring.push([30.5 + 0.01 * Math.cos(a), 50.45 + 0.01 * Math.sin(a)]);
  }
  ring.push(ring[0]);
  const t0 = performance.now();
  assert.equal(
    problemOf(buildFeature({ geometry: { type: 'Polygon', coordinates: [ring] } })),
    'TOO_MANY_VERTICES',
  );
  assert.ok(performance.now() - t0 < 2000);
});

test('a FeatureCollection loads its good features and reports each bad one by position and id', () => {
  const good = buildFeature();
  const bad = buildFeature({
    properties: { id: 'store-2', radiusM: -1 },
    geometry: { type: 'Point', coordinates: [30, 50] },
  });
  const dup = buildFeature();
  const result = loadFeatureCollection(
    { type: 'FeatureCollection', features: [good, bad, dup, 42] },
    DEFAULT_FENCE_LIMITS,
  );
  assert.equal(result.fences.length, 1);
  assert.deepEqual(
    result.errors.map((e) => [e.index, e.problem]),
    [
      [1, 'RADIUS_OUT_OF_RANGE'],
      [2, 'DUPLICATE_ID'],
      [3, 'SCHEMA'],
    ],
  );
  assert.equal(result.errors[0].id, 'store-2');
});

test('something that is not a FeatureCollection is one clear error', () => {
  const result = loadFeatureCollection({ type: 'Feature' }, DEFAULT_FENCE_LIMITS);
  assert.equal(result.fences.length, 0);
  assert.match(result.errors[0].message, /not a GeoJSON FeatureCollection/);
});
