/**
 * Point-in-polygon with PostGIS `ST_Covers` semantics: a point on an edge or a vertex is covered.
 *
 * The arithmetic mirrors PostGIS's winding-number test (lwgeom_functions_analytic.c): the side of the
 * point against each edge is the plain double cross product, a side of exactly 0 with the point
 * inside the edge's bounding box is "on the boundary", and the winding number decides the rest. Using
 * the same operations in the same order means the same answer as PostGIS for every double input,
 * including points that lie on an edge only up to rounding.
 */

/** A polygon fence flattened for the hot path. Rings are closed (last position = first). */
export interface FlatPolygons {
  /** x0, y0, x1, y1, ... for every ring of every part. */
  readonly coords: Float64Array;
  /** Start index (in positions) of each ring, plus one final entry = total positions. */
  readonly ringStart: Int32Array;
  /** Index of the first ring of each part (its shell), plus one final entry = ring count. */
  readonly partRing: Int32Array;
}

/** -1 outside, 0 on the boundary, 1 inside. */
export function ringSide(coords: Float64Array, from: number, to: number, x: number, y: number): -1 | 0 | 1 {
  let wn = 0;
  let i = from * 2;
  const end = (to - 1) * 2;
  for (; i < end; i += 2) {
    const x1 = coords[i];
    const y1 = coords[i + 1];
    const x2 = coords[i + 2];
    const y2 = coords[i + 3];
    if (x1 === x2 && y1 === y2) continue;
    const side = (x2 - x1) * (y - y1) - (x - x1) * (y2 - y1);
    if (side === 0) {
      const minX = x1 < x2 ? x1 : x2;
      const maxX = x1 < x2 ? x2 : x1;
      const minY = y1 < y2 ? y1 : y2;
      const maxY = y1 < y2 ? y2 : y1;
      if (x >= minX && x <= maxX && y >= minY && y <= maxY) return 0;
    }
    if (y1 <= y && y < y2 && side > 0) wn++;
    else if (y2 <= y && y < y1 && side < 0) wn--;
  }
  return wn === 0 ? -1 : 1;
}

/** True when the point lies inside or on the boundary of any part (holes excluded, their edges included). */
export function polygonsCover(poly: FlatPolygons, x: number, y: number): boolean {
  const { coords, ringStart, partRing } = poly;
  const parts = partRing.length - 1;
  for (let p = 0; p < parts; p++) {
    const shell = partRing[p];
    const shellSide = ringSide(coords, ringStart[shell], ringStart[shell + 1], x, y);
    if (shellSide === -1) continue;
    if (shellSide === 0) return true;
    let inHole = false;
    for (let r = shell + 1; r < partRing[p + 1]; r++) {
      const s = ringSide(coords, ringStart[r], ringStart[r + 1], x, y);
      if (s === 0) return true;
      if (s === 1) {
        inHole = true;
        break;
      }
    }
    if (!inHole) return true;
  }
  return false;
}

/** Flattens GeoJSON polygon coordinates (an array of polygons, each an array of closed rings). */
export function flattenPolygons(
  polygons: readonly (readonly (readonly (readonly number[])[])[])[],
): FlatPolygons {
  let positions = 0;
  let rings = 0;
  for (const poly of polygons) {
    for (const ring of poly) {
      positions += ring.length;
      rings++;
    }
  }
  const coords = new Float64Array(positions * 2);
  const ringStart = new Int32Array(rings + 1);
  const partRing = new Int32Array(polygons.length + 1);
  let pos = 0;
  let r = 0;
  for (let p = 0; p < polygons.length; p++) {
    partRing[p] = r;
    for (const ring of polygons[p]) {
      ringStart[r++] = pos;
      for (const c of ring) {
        coords[pos * 2] = c[0];
        coords[pos * 2 + 1] = c[1];
        pos++;
      }
    }
  }
  ringStart[r] = pos;
  partRing[polygons.length] = r;
  return { coords, ringStart, partRing };
}

/** The GeoJSON coordinates back from a flattened polygon fence (new arrays on every call). */
export function unflattenPolygons(flat: FlatPolygons): [number, number][][][] {
  const { coords, ringStart, partRing } = flat;
  const polygons: [number, number][][][] = [];
  for (let p = 0; p < partRing.length - 1; p++) {
    const rings: [number, number][][] = [];
    for (let r = partRing[p]; r < partRing[p + 1]; r++) {
      const ring: [number, number][] = [];
      for (let i = ringStart[r]; i < ringStart[r + 1]; i++) ring.push([coords[i * 2], coords[i * 2 + 1]]);
      rings.push(ring);
    }
    polygons.push(rings);
  }
  return polygons;
}
