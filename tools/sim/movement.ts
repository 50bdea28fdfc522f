// Pedestrian movement of synthetic subscribers around store geofences, for `npm run simulate`.
// Pure and deterministic: time comes in as an argument, randomness from one seed. Each walker is in one
// of three modes — walking a route at its own pace, browsing inside a store (slow, short legs that stay
// in the fence) or pausing at a destination — and reports a noisy fix every few seconds.
import {
  type BBox,
  destination,
  distanceM,
  EARTH_RADIUS_M,
  type Fence,
  type Matcher,
  type Position,
} from '../../src/geo/index.ts';
import type { Ping } from '../../src/ingest/index.ts';
import { createRandom } from '../../src/segments/index.ts';

export interface MovementOptions {
  /** The stores; walkers head for the fences in `matcher.snapshot()`. */
  matcher: Matcher;
  subscribers: number;
  /** Pseudonym of subscriber i (the demo base's `demoSid`). */
  sidOf: (i: number) => string;
  seed: number;
  /** Wall-clock start (ms): every walker's position is defined from here on. */
  startMs: number;
  /** Mean time between two fixes of one subscriber (ms); each gap varies ±20 %. Default 5 s. */
  intervalMs?: number;
  /** Share of subscribers who start near a store and walk into it. Default 1/3. */
  storeShare?: number;
  /** Mean walking speed (m/s); each walker keeps its own pace around it. Default 1.4. */
  speedMps?: number;
  /** Time spent inside a store, [min, max] ms. Default 2–6 min. */
  lingerMs?: readonly [number, number];
  /** How far outside its fence a store-goer starts, [min, max] metres. Default 10–150 m. */
  approachM?: readonly [number, number];
}

/** One reported position: the ping as a phone would send it, and where the walker really was. */
export interface Fix {
  ping: Ping;
  trueLon: number;
  trueLat: number;
  /** The true position lies in some fence. */
  inside: boolean;
}

export type WalkerMode = 'walk' | 'browse' | 'pause';

export interface WalkerView {
  readonly index: number;
  readonly sid: string;
  /** The walker's own pace (m/s). */
  readonly walkSpeedMps: number;
  readonly mode: WalkerMode;
  /** Id of the store the walker is heading for or browsing, if any. */
  readonly storeId: string | undefined;
  /** Id of the first store this walker headed for (store-goers from the start only). */
  readonly firstStoreId: string | undefined;
  /** Stores entered so far. */
  readonly visits: number;
}

export interface Movement {
  /** Moves every walker to `nowMs` and returns the fixes due at or before it, oldest first. */
  advance(nowMs: number): Fix[];
  /** Walkers whose true position at their latest fix lay inside a fence. */
  insideCount(): number;
  readonly walkers: readonly WalkerView[];
  /** The area walkers start and stroll in: the stores' bounding box grown by 1 km. */
  readonly area: BBox;
}

interface Walker {
  index: number;
  sid: string;
  walkSpeedMps: number;
  mode: WalkerMode;
  lon: number;
  lat: number;
  /** Time up to which the position is computed. */
  clockMs: number;
  route: Position[];
  leg: number;
  /** End of the current browse or pause. */
  untilMs: number;
  store: Fence | undefined;
  storeId: string | undefined;
  firstStoreId: string | undefined;
  centre: Position;
  visits: number;
  nextFixMs: number;
  inside: boolean;
}

const RAD = Math.PI / 180;
const M_PER_DEG = EARTH_RADIUS_M * RAD;
/** Shoppers drift between shelves at about a third of walking pace. */
const BROWSE_MPS = 0.5;
/** Browsing stays within this distance of the spot the shopper walked to. */
const BROWSE_RADIUS_M = 12;
/** A later store trip goes only to stores within this walking distance. */
const NEXT_STORE_MAX_M = 3_000;
const AREA_MARGIN_M = 1_000;

/** Creates the walkers; all state lives in the returned object. */
export function createMovement(opts: MovementOptions): Movement {
  const matcher = opts.matcher;
  const fences = matcher.snapshot().fences;
  if (fences.length === 0) throw new Error('movement needs at least one store geofence');
  if (!Number.isInteger(opts.subscribers) || opts.subscribers < 1)
    throw new Error(`subscribers must be a positive integer, got ${opts.subscribers}`);
  const intervalMs = opts.intervalMs ?? 5_000;
  const storeShare = opts.storeShare ?? 1 / 3;
  const speedMps = opts.speedMps ?? 1.4;
  const [lingerMin, lingerMax] = opts.lingerMs ?? [120_000, 360_000];
  const [approachMin, approachMax] = opts.approachM ?? [10, 150];
  const random = createRandom(opts.seed);
  const uniform = (min: number, max: number) => min + (max - min) * random();
  const normal = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());

  const area = growBox(unionBox(fences), AREA_MARGIN_M);
  const covers = (f: Fence, lon: number, lat: number) => matcher.near(f, lon, lat, 0);

  /** Moves (lon, lat) by east/north metres (local flat approximation: fine at store scale). */
  const offset = (lon: number, lat: number, eastM: number, northM: number): Position => [
    lon + eastM / (M_PER_DEG * Math.cos(lat * RAD)),
    lat + northM / M_PER_DEG,
  ];

  /** A point well inside the fence: covered, and so are points 15 m around it when such a point exists. */
  const interiorPoint = (f: Fence): Position => {
    if (f.kind === 'circle') {
      const r = f.radiusM * 0.6 * Math.sqrt(random());
      return destination(f.center[0], f.center[1], r, uniform(0, 360));
    }
    const [w, s, e, n] = f.bbox;
    let fallback: Position | undefined;
    for (let i = 0; i < 400; i++) {
      const lon = uniform(w, e);
      const lat = uniform(s, n);
      if (!covers(f, lon, lat)) continue;
      fallback ??= [lon, lat];
      let deep = true;
      for (const [dx, dy] of [
        [15, 0],
        [-15, 0],
        [0, 15],
        [0, -15],
      ] as const) {
        const [x, y] = offset(lon, lat, dx, dy);
        if (!covers(f, x, y)) deep = false;
      }
      if (deep) return [lon, lat];
    }
    if (fallback) return fallback;
    return [(w + e) / 2, (s + n) / 2];
  };

  /** A start point on `bearingDeg` from `target`, clear of the fence by `gapM` metres beyond its edge. */
  const outsidePoint = (f: Fence, target: Position, bearingDeg: number, gapM: number): Position => {
    const at = (d: number) => destination(target[0], target[1], d, bearingDeg);
    const clear = (p: Position) => !matcher.near(f, p[0], p[1], 10);
    // Step out until 10 m clear of the fence, and the start too (a MultiPolygon may have a part beyond).
    let d = 0;
    while (d < 5_000 && !(clear(at(d)) && clear(at(d + gapM)))) d += 5;
    return at(d + gapM);
  };

  /** A route with one bend, as streets rarely run straight from door to door. */
  const routeTo = (from: Position, to: Position): Position[] => {
    const dist = distanceM(from[0], from[1], to[0], to[1]);
    if (dist < 100) return [to];
    const mid: Position = [(from[0] + to[0]) / 2, (from[1] + to[1]) / 2];
    const east = (to[0] - from[0]) * M_PER_DEG * Math.cos(mid[1] * RAD);
    const north = (to[1] - from[1]) * M_PER_DEG;
    const side = uniform(-0.15, 0.15) * dist;
    // Perpendicular to the straight line: (north, -east) normalised.
    return [offset(mid[0], mid[1], (north / dist) * side, (-east / dist) * side), to];
  };

  const inArea = (p: Position) => p[0] >= area[0] && p[0] <= area[2] && p[1] >= area[1] && p[1] <= area[3];

  const strollTarget = (from: Position): Position => {
    const d = uniform(300, 2_000);
    const bearing = uniform(0, 360);
    const p = destination(from[0], from[1], d, bearing);
    return inArea(p) ? p : destination(from[0], from[1], d, bearing + 180);
  };

  const headFor = (w: Walker, f: Fence, from: Position) => {
    w.store = f;
    w.storeId = f.props.id;
    w.mode = 'walk';
    w.route = routeTo(from, interiorPoint(f));
    w.leg = 0;
  };

  const planTrip = (w: Walker) => {
    const here: Position = [w.lon, w.lat];
    if (random() < storeShare) {
      const near = fences.filter(
        (f) => f !== w.store && bboxDistanceM(f.bbox, w.lon, w.lat) < NEXT_STORE_MAX_M,
      );
      if (near.length > 0) {
        headFor(w, near[Math.floor(random() * near.length)], here);
        return;
      }
    }
    w.store = undefined;
    w.storeId = undefined;
    w.mode = 'walk';
    w.route = routeTo(here, strollTarget(here));
    w.leg = 0;
  };

  const arrive = (w: Walker) => {
    w.route = [];
    w.leg = 0;
    if (w.store !== undefined) {
      w.mode = 'browse';
      w.centre = [w.lon, w.lat];
      w.untilMs = w.clockMs + uniform(lingerMin, lingerMax);
      w.visits++;
    } else {
      w.mode = 'pause';
      w.untilMs = w.clockMs + uniform(5_000, 90_000);
    }
  };

  /** Next spot to drift to while browsing: near the centre and inside the store, else the centre. */
  const browsePoint = (w: Walker): Position => {
    const r = BROWSE_RADIUS_M * Math.sqrt(random());
    const a = uniform(0, 2 * Math.PI);
    const p = offset(w.centre[0], w.centre[1], r * Math.cos(a), r * Math.sin(a));
    return w.store && covers(w.store, p[0], p[1]) ? p : w.centre;
  };

  const moveTo = (w: Walker, t: number) => {
    while (w.clockMs < t) {
      if (w.mode === 'pause') {
        if (t < w.untilMs) {
          w.clockMs = t;
          return;
        }
        w.clockMs = w.untilMs;
        planTrip(w);
        continue;
      }
      if (w.mode === 'browse' && w.clockMs >= w.untilMs) {
        // Leave: the next trip starts at the browse position.
        planTrip(w);
        continue;
      }
      if (w.leg >= w.route.length) {
        if (w.mode === 'browse') {
          w.route = [browsePoint(w)];
          w.leg = 0;
        } else {
          arrive(w);
          continue;
        }
      }
      const end = w.mode === 'browse' ? Math.min(t, w.untilMs) : t;
      const speed = w.mode === 'browse' ? BROWSE_MPS : w.walkSpeedMps;
      const [tx, ty] = w.route[w.leg];
      const dist = distanceM(w.lon, w.lat, tx, ty);
      const reach = (speed * (end - w.clockMs)) / 1000;
      if (dist < 0.5) {
        // Already there (a browse spot at the centre): stand still until the next step is due.
        w.leg++;
        if (w.mode === 'browse') w.clockMs = Math.min(end, w.clockMs + 10_000);
      } else if (reach >= dist) {
        w.lon = tx;
        w.lat = ty;
        w.clockMs += (dist / speed) * 1000;
        w.leg++;
      } else {
        const f = reach / dist;
        w.lon += (tx - w.lon) * f;
        w.lat += (ty - w.lat) * f;
        w.clockMs = end;
      }
    }
  };

  /** What a phone reports: mostly GPS (metres), some Wi-Fi (tens of metres), a few cell fixes (km). */
  const fixOf = (w: Walker, tsMs: number): Fix => {
    const q = random();
    let acc: number;
    let src: string;
    if (q < 0.88) {
      src = 'gps';
      acc = Math.min(60, Math.max(3, 10 * Math.exp(0.45 * normal())));
    } else if (q < 0.97) {
      src = 'wifi';
      acc = uniform(20, 80);
    } else {
      src = 'cell';
      acc = Math.exp(uniform(Math.log(300), Math.log(2_500)));
    }
    acc = Math.round(acc);
    // acc is the 68 % radius: for a 2-D normal error that is ≈ 1.51 σ per axis.
    const sigma = acc / 1.51;
    const [lon, lat] = offset(w.lon, w.lat, normal() * sigma, normal() * sigma);
    w.inside = matcher.match(w.lon, w.lat, 0).length > 0;
    return {
      ping: { sid: w.sid, lat: round6(lat), lon: round6(lon), ts: tsMs, acc, src },
      trueLon: w.lon,
      trueLat: w.lat,
      inside: w.inside,
    };
  };

  const walkers: Walker[] = [];
  for (let i = 0; i < opts.subscribers; i++) {
    const w: Walker = {
      index: i,
      sid: opts.sidOf(i),
      walkSpeedMps: Math.min(1.9, Math.max(0.9, speedMps + 0.15 * normal())),
      mode: 'walk',
      lon: 0,
      lat: 0,
      clockMs: opts.startMs,
      route: [],
      leg: 0,
      untilMs: 0,
      store: undefined,
      storeId: undefined,
      firstStoreId: undefined,
      centre: [0, 0],
      visits: 0,
      // Spread the first fixes over one interval so the load is even.
      nextFixMs: opts.startMs + Math.floor(random() * intervalMs),
      inside: false,
    };
    if (random() < storeShare) {
      const f = fences[Math.floor(random() * fences.length)];
      const target = interiorPoint(f);
      const bearing = uniform(0, 360);
      [w.lon, w.lat] = outsidePoint(f, target, bearing, uniform(approachMin, approachMax));
      w.store = f;
      w.storeId = f.props.id;
      w.firstStoreId = f.props.id;
      w.route = [target];
    } else {
      w.lon = uniform(area[0], area[2]);
      w.lat = uniform(area[1], area[3]);
      w.route = routeTo([w.lon, w.lat], strollTarget([w.lon, w.lat]));
    }
    walkers.push(w);
  }

  return {
    area,
    walkers,
    advance(nowMs) {
      const fixes: Fix[] = [];
      for (const w of walkers) {
        while (w.nextFixMs <= nowMs) {
          const ts = w.nextFixMs;
          moveTo(w, ts);
          fixes.push(fixOf(w, ts));
          w.nextFixMs = ts + Math.max(1_000, Math.round(intervalMs * uniform(0.8, 1.2)));
        }
      }
      fixes.sort((a, b) => a.ping.ts - b.ping.ts);
      return fixes;
    },
    insideCount() {
      let n = 0;
      for (const w of walkers) if (w.inside) n++;
      return n;
    },
  };
}

function round6(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}

function unionBox(fences: readonly Fence[]): BBox {
  const b: BBox = [Infinity, Infinity, -Infinity, -Infinity];
  for (const f of fences) {
    b[0] = Math.min(b[0], f.bbox[0]);
    b[1] = Math.min(b[1], f.bbox[1]);
    b[2] = Math.max(b[2], f.bbox[2]);
    b[3] = Math.max(b[3], f.bbox[3]);
  }
  return b;
}

function growBox(b: BBox, m: number): BBox {
  const dLat = m / M_PER_DEG;
  const dLon = m / (M_PER_DEG * Math.cos(((b[1] + b[3]) / 2) * RAD));
  return [b[0] - dLon, b[1] - dLat, b[2] + dLon, b[3] + dLat];
}

/** Distance (m) from a point to the nearest point of a box (0 inside). */
function bboxDistanceM(b: BBox, lon: number, lat: number): number {
  const x = Math.min(Math.max(lon, b[0]), b[2]);
  const y = Math.min(Math.max(lat, b[1]), b[3]);
  return distanceM(lon, lat, x, y);
}
