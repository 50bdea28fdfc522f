/**
 * Sphere radius used for every distance: the mean radius of the WGS84 ellipsoid, (2a + b) / 3 —
 * the same sphere PostGIS uses for geography distances with use_spheroid = false.
 */
export const EARTH_RADIUS_M = 6371008.771415059;

const RAD = Math.PI / 180;

/** Metres per degree of latitude on the sphere. */
export const METRES_PER_DEG_LAT = EARTH_RADIUS_M * RAD;

/** Great-circle (haversine) distance in metres between two lon/lat points. */
export function distanceM(lon1: number, lat1: number, lon2: number, lat2: number): number {
  const phi1 = lat1 * RAD;
  const phi2 = lat2 * RAD;
  const sDphi = Math.sin((phi2 - phi1) / 2);
  const sDlambda = Math.sin(((lon2 - lon1) * RAD) / 2);
  const h = sDphi * sDphi + Math.cos(phi1) * Math.cos(phi2) * sDlambda * sDlambda;
  return 2 * EARTH_RADIUS_M * Math.asin(Math.min(1, Math.sqrt(h)));
}

/** Half-widths in degrees of a box that contains every point within `radiusM` of (lon, lat). */
export function degreesAround(lat: number, radiusM: number): { dLon: number; dLat: number } {
  const dLat = radiusM / METRES_PER_DEG_LAT;
  const maxLat = Math.min(89.9, Math.abs(lat) + dLat);
  const dLon = radiusM / (METRES_PER_DEG_LAT * Math.cos(maxLat * RAD));
  return { dLon: Math.min(dLon, 180), dLat };
}

/** Point at `distance` metres from (lon, lat) on the initial bearing `bearingDeg` (great circle). */
export function destination(
  lon: number,
  lat: number,
  distance: number,
  bearingDeg: number,
): [number, number] {
  const delta = distance / EARTH_RADIUS_M;
  const theta = bearingDeg * RAD;
  const phi1 = lat * RAD;
  const lambda1 = lon * RAD;
  const sinPhi2 = Math.sin(phi1) * Math.cos(delta) + Math.cos(phi1) * Math.sin(delta) * Math.cos(theta);
  const phi2 = Math.asin(sinPhi2);
  const lambda2 =
    lambda1 +
    Math.atan2(
      Math.sin(theta) * Math.sin(delta) * Math.cos(phi1),
      Math.cos(delta) - Math.sin(phi1) * sinPhi2,
    );
  return [lambda2 / RAD, phi2 / RAD];
}

/**
 * Approximate distance in metres from (lon, lat) to the segment a–b, in a local equirectangular
 * projection around the point. Good to well under a metre at store scale; used for hysteresis only.
 */
export function distanceToSegmentM(
  lon: number,
  lat: number,
  ax: number,
  ay: number,
  bx: number,
  by: number,
): number {
  const kx = METRES_PER_DEG_LAT * Math.cos(lat * RAD);
  const ky = METRES_PER_DEG_LAT;
  const x1 = (ax - lon) * kx;
  const y1 = (ay - lat) * ky;
  const x2 = (bx - lon) * kx;
  const y2 = (by - lat) * ky;
  const dx = x2 - x1;
  const dy = y2 - y1;
  const len2 = dx * dx + dy * dy;
  let t = len2 === 0 ? 0 : -(x1 * dx + y1 * dy) / len2;
  if (t < 0) t = 0;
  else if (t > 1) t = 1;
  const px = x1 + t * dx;
  const py = y1 + t * dy;
  return Math.sqrt(px * px + py * py);
}
