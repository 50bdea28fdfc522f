import { destination } from '../../src/geo/geodesy.ts';
import { type Fence, type Position, polygonFence } from '../../src/geo/types.ts';
import { circleBBox } from '../../src/geo/validate.ts';
import { createRandom, type Random } from './random.ts';

/** Ukraine's 25 largest cities: population (thousands), centre, and urban radius in km. */
export const CITIES = [
  { name: 'Kyiv', pop: 2950, lat: 50.4501, lon: 30.5234, radiusKm: 15 },
  { name: 'Kharkiv', pop: 1420, lat: 49.9935, lon: 36.2304, radiusKm: 12 },
  { name: 'Odesa', pop: 1010, lat: 46.4825, lon: 30.7233, radiusKm: 10 },
  { name: 'Dnipro', pop: 980, lat: 48.4647, lon: 35.0462, radiusKm: 12 },
  { name: 'Donetsk', pop: 900, lat: 48.0159, lon: 37.8028, radiusKm: 10 },
  { name: 'Zaporizhzhia', pop: 720, lat: 47.8388, lon: 35.1396, radiusKm: 10 },
  { name: 'Lviv', pop: 720, lat: 49.8397, lon: 24.0297, radiusKm: 8 },
  { name: 'Kryvyi Rih', pop: 610, lat: 47.9105, lon: 33.3918, radiusKm: 12 },
  { name: 'Mykolaiv', pop: 470, lat: 46.975, lon: 31.9946, radiusKm: 8 },
  { name: 'Sevastopol', pop: 440, lat: 44.6166, lon: 33.5254, radiusKm: 8 },
  { name: 'Mariupol', pop: 430, lat: 47.0971, lon: 37.5434, radiusKm: 8 },
  { name: 'Luhansk', pop: 400, lat: 48.574, lon: 39.3078, radiusKm: 7 },
  { name: 'Vinnytsia', pop: 370, lat: 49.2331, lon: 28.4682, radiusKm: 6 },
  { name: 'Makiivka', pop: 340, lat: 48.0478, lon: 37.9258, radiusKm: 6 },
  { name: 'Simferopol', pop: 340, lat: 44.9521, lon: 34.1024, radiusKm: 6 },
  { name: 'Chernihiv', pop: 285, lat: 51.4982, lon: 31.2893, radiusKm: 6 },
  { name: 'Kherson', pop: 280, lat: 46.6354, lon: 32.6169, radiusKm: 6 },
  { name: 'Poltava', pop: 280, lat: 49.5883, lon: 34.5514, radiusKm: 6 },
  { name: 'Khmelnytskyi', pop: 275, lat: 49.4229, lon: 26.9871, radiusKm: 5 },
  { name: 'Cherkasy', pop: 270, lat: 49.4444, lon: 32.0598, radiusKm: 6 },
  { name: 'Chernivtsi', pop: 265, lat: 48.2915, lon: 25.9403, radiusKm: 5 },
  { name: 'Zhytomyr', pop: 260, lat: 50.2547, lon: 28.6587, radiusKm: 5 },
  { name: 'Sumy', pop: 260, lat: 50.9077, lon: 34.7981, radiusKm: 5 },
  { name: 'Rivne', pop: 245, lat: 50.6199, lon: 26.2516, radiusKm: 5 },
  { name: 'Ivano-Frankivsk', pop: 235, lat: 48.9226, lon: 24.7111, radiusKm: 5 },
] as const;

/** Ukraine's bounding box, for rural pings. */
export const UKRAINE_BBOX = [22.14, 44.39, 40.23, 52.38] as const;

const TOTAL_POP = CITIES.reduce((s, c) => s + c.pop, 0);

function pickCity(rnd: Random) {
  let x = rnd.next() * TOTAL_POP;
  for (const c of CITIES) {
    x -= c.pop;
    if (x < 0) return c;
  }
  return CITIES[0];
}

/** A point in a city, denser towards the centre (normal, truncated at the urban radius). */
export function cityPoint(rnd: Random): Position {
  const c = pickCity(rnd);
  const r = c.radiusKm * 1000;
  // Half uniform over the urban disc, half concentrated towards the centre.
  const dist = rnd.chance(0.5) ? r * Math.sqrt(rnd.next()) : Math.min(r, Math.abs(rnd.normal()) * r * 0.4);
  return destination(c.lon, c.lat, dist, rnd.range(0, 360));
}

export interface FenceWorkloadOptions {
  seed: number;
  count: number;
  /** Snap vertices to a 2^-snapBits degree grid (exact midpoints for on-edge tests). */
  snapBits?: number;
  circleShare?: number;
  holeShare?: number;
  multiShare?: number;
  tenants?: number;
}

const ACCURACIES = [100, 250, 500, 500, 1000, 3000];

/** Star-shaped ring around a centre: always simple. Counter-clockwise, closed. */
function starRing(
  rnd: Random,
  centre: Position,
  radiusM: number,
  vertices: number,
  snap: (v: number) => number,
  innerShare = 0.6,
) {
  // Jittered even spacing keeps every gap under 180°, so the ring is star-shaped around the centre.
  const angles: number[] = [];
  for (let i = 0; i < vertices; i++) angles.push(((i + rnd.range(0, 0.8)) * 360) / vertices);
  const ring: Position[] = [];
  for (const a of angles) {
    // destination() bearings run clockwise from north; map a CCW math angle to a bearing.
    const p = destination(centre[0], centre[1], radiusM * rnd.range(innerShare, 1), 90 - a);
    const q: Position = [snap(p[0]), snap(p[1])];
    const prev = ring[ring.length - 1];
    if (prev && prev[0] === q[0] && prev[1] === q[1]) continue;
    ring.push(q);
  }
  ring.push([ring[0][0], ring[0][1]]);
  return ring;
}

function bboxOfRings(polys: Position[][][]): [number, number, number, number] {
  let minX = Infinity;
  let minY = Infinity;
  let maxX = -Infinity;
  let maxY = -Infinity;
  for (const poly of polys)
    for (const p of poly[0]) {
      minX = Math.min(minX, p[0]);
      maxX = Math.max(maxX, p[0]);
      minY = Math.min(minY, p[1]);
      maxY = Math.max(maxY, p[1]);
    }
  return [minX, minY, maxX, maxY];
}

function signedArea2(ring: Position[]): number {
  let s = 0;
  for (let i = 0; i < ring.length - 1; i++) s += ring[i][0] * ring[i + 1][1] - ring[i + 1][0] * ring[i][1];
  return s;
}

/**
 * Seeded store geofences spread over Ukraine's 25 largest cities weighted by population: polygons of
 * 8–64 vertices and 25–500 m across, circles, a few with holes or several parts.
 */
export function generateFences(opts: FenceWorkloadOptions): Fence[] {
  const rnd = createRandom(opts.seed);
  const grid = opts.snapBits ? 2 ** opts.snapBits : 0;
  const snap = grid ? (v: number) => Math.round(v * grid) / grid : (v: number) => v;
  const circleShare = opts.circleShare ?? 0.1;
  const holeShare = opts.holeShare ?? 0.03;
  const multiShare = opts.multiShare ?? 0.02;
  const tenants = opts.tenants ?? 50;
  const fences: Fence[] = [];
  for (let i = 0; i < opts.count; i++) {
    const c = cityPoint(rnd);
    const centre: Position = [snap(c[0]), snap(c[1])];
    const acrossM = 25 * 20 ** rnd.next();
    const tenant = `retailer-${rnd.int(1, tenants)}`;
    const props = {
      id: `f${i}`,
      tenant,
      name: `Store ${i}`,
      storeId: `s${i}`,
      address: `${i} Main St`,
      tags: [rnd.pick(['grocery', 'fashion', 'electronics', 'pharmacy', 'coffee'])],
      maxAccuracyM: rnd.pick(ACCURACIES),
      timeZone: 'Europe/Kyiv',
    };
    const roll = rnd.next();
    if (roll < circleShare) {
      const radiusM = acrossM / 2;
      fences.push({ kind: 'circle', props, center: centre, radiusM, bbox: circleBBox(centre, radiusM) });
      continue;
    }
    const vertices = rnd.int(8, 64);
    const polys: Position[][][] = [];
    const shell = starRing(rnd, centre, acrossM / 2, vertices, snap);
    if (signedArea2(shell) <= 0) {
      i--;
      continue;
    }
    if (roll < circleShare + holeShare) {
      // Outer vertices are at ≥ 60% of the radius and the hole's at ≤ 30%: the hole is inside.
      const hole = starRing(rnd, centre, (acrossM / 2) * 0.3, rnd.int(4, 12), snap, 0.5).reverse();
      if (signedArea2(hole) >= 0) {
        i--;
        continue;
      }
      polys.push([shell, hole]);
    } else if (roll < circleShare + holeShare + multiShare) {
      polys.push([shell]);
      const c2 = destination(centre[0], centre[1], acrossM * 1.5, rnd.range(0, 360));
      const second = starRing(rnd, [snap(c2[0]), snap(c2[1])], acrossM / 2, rnd.int(8, 24), snap);
      if (signedArea2(second) <= 0) {
        i--;
        continue;
      }
      polys.push([second]);
    } else {
      polys.push([shell]);
    }
    fences.push(polygonFence(props, polys, bboxOfRings(polys)));
  }
  return fences;
}

export interface PingWorkload {
  lon: Float64Array;
  lat: Float64Array;
  acc: Float64Array;
}

/** Pings from the same city distribution as the fences, plus a rural share spread over Ukraine. */
export function generatePings(opts: { seed: number; count: number; ruralShare?: number }): PingWorkload {
  const rnd = createRandom(opts.seed);
  const ruralShare = opts.ruralShare ?? 0.2;
  const lon = new Float64Array(opts.count);
  const lat = new Float64Array(opts.count);
  const acc = new Float64Array(opts.count);
  for (let i = 0; i < opts.count; i++) {
    if (rnd.chance(ruralShare)) {
      lon[i] = rnd.range(UKRAINE_BBOX[0], UKRAINE_BBOX[2]);
      lat[i] = rnd.range(UKRAINE_BBOX[1], UKRAINE_BBOX[3]);
    } else {
      const p = cityPoint(rnd);
      lon[i] = p[0];
      lat[i] = p[1];
    }
    // 60% GPS/Wi-Fi fixes (5–50 m), 40% cell-based (100 m – 3 km)
    acc[i] = rnd.chance(0.6) ? rnd.range(5, 50) : 100 * 30 ** rnd.next();
  }
  return { lon, lat, acc };
}
