import { generateFences } from '../../bench/lib/geo-workload.ts';
import { createRandom } from '../../bench/lib/random.ts';
import { destination } from '../../src/geo/geodesy.ts';
import type { Fence } from '../../src/geo/types.ts';

export interface OracleCase {
  fences: Fence[];
  lon: number[];
  lat: number[];
  acc: number[];
  kinds: string[];
}

/**
 * Fences and points aimed at every hard case: vertices, points exactly on edges (vertices on a
 * 2^-20° grid so quarter points are exact), inside holes, across MultiPolygon parts, just inside and
 * just outside circle rims, plus random points around each fence and across the cities.
 */
export function buildOracleCase(seed: number, opts: { fences?: number; snapBits?: number } = {}): OracleCase {
  const rnd = createRandom(seed);
  const fences = generateFences({
    seed,
    count: opts.fences ?? 400,
    snapBits: opts.snapBits,
    circleShare: 0.2,
    holeShare: 0.15,
    multiShare: 0.15,
  });
  const c: OracleCase = { fences, lon: [], lat: [], acc: [], kinds: [] };
  const accOf = () => (rnd.chance(0.8) ? rnd.range(5, 90) : rnd.pick([100, 250, 500, 1000, 3000, 5000]));
  const add = (lon: number, lat: number, kind: string) => {
    c.lon.push(lon);
    c.lat.push(lat);
    c.acc.push(accOf());
    c.kinds.push(kind);
  };
  for (const f of fences) {
    const [minX, minY, maxX, maxY] = f.bbox;
    const dx = (maxX - minX) * 0.2;
    const dy = (maxY - minY) * 0.2;
    for (let i = 0; i < 60; i++)
      add(rnd.range(minX - dx, maxX + dx), rnd.range(minY - dy, maxY + dy), 'near');
    if (f.kind === 'circle') {
      add(f.center[0], f.center[1], 'centre');
      for (let i = 0; i < 40; i++) {
        const offset = rnd.pick([-0.01, -0.001, 0.001, 0.01]);
        const p = destination(f.center[0], f.center[1], f.radiusM + offset, rnd.range(0, 360));
        add(p[0], p[1], offset < 0 ? 'rim-inside' : 'rim-outside');
      }
      continue;
    }
    for (const poly of f.polygons) {
      poly.forEach((ring, r) => {
        for (let i = 0; i < ring.length - 1; i++) {
          const [ax, ay] = ring[i];
          const [bx, by] = ring[i + 1];
          add(ax, ay, r === 0 ? 'vertex' : 'hole-vertex');
          for (const t of [0.25, 0.5, 0.75])
            add(ax + (bx - ax) * t, ay + (by - ay) * t, r === 0 ? 'edge' : 'hole-edge');
        }
        if (r > 0) {
          // inside the hole: between the hole's vertices and their centroid
          const n = ring.length - 1;
          const cx = ring.slice(0, n).reduce((s, p) => s + p[0], 0) / n;
          const cy = ring.slice(0, n).reduce((s, p) => s + p[1], 0) / n;
          for (let i = 0; i < 10; i++) {
            const p = ring[rnd.int(0, n - 1)];
            const t = rnd.range(0.05, 0.6);
            add(cx + (p[0] - cx) * t, cy + (p[1] - cy) * t, 'in-hole');
          }
        }
      });
    }
  }
  return c;
}
