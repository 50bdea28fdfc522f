// Writes the pipeline bench's fences as a GeoJSON catalogue file in its own process, so generating
// and serialising 100 k fences (hundreds of MB of short-lived objects) does not inflate the RSS the
// bench measures for the service. Options: JSON in argv[2] ({ seed, count, tenants, file }). Prints
// one line: the fence ids by tenant, as JSON (the bench's campaigns pick fences from them).
import { writeFile } from 'node:fs/promises';
import type { Fence } from '../../src/geo/index.ts';
import { generateFences } from './geo-workload.ts';

const o = JSON.parse(process.argv[2] ?? '{}') as {
  seed: number;
  count: number;
  tenants: number;
  file: string;
};
const fences = generateFences({ seed: o.seed, count: o.count, tenants: o.tenants });
const byTenant: Record<string, string[]> = {};
for (const f of fences) {
  const ids = byTenant[f.props.tenant] ?? [];
  ids.push(f.props.id);
  byTenant[f.props.tenant] = ids;
}
await writeFile(o.file, JSON.stringify({ type: 'FeatureCollection', features: fences.map(toFeature) }));
// A pipe is written asynchronously: exit only once the line is out (exiting at once truncated it).
process.stdout.write(`${JSON.stringify(byTenant)}\n`, () => process.exit(0));

function toFeature(f: Fence) {
  if (f.kind === 'circle') {
    return {
      type: 'Feature',
      geometry: { type: 'Point', coordinates: f.center },
      properties: { ...f.props, radiusM: f.radiusM },
    };
  }
  const polygons = f.polygons; // rebuilt from the packed geometry on each read
  return {
    type: 'Feature',
    geometry:
      polygons.length === 1
        ? { type: 'Polygon', coordinates: polygons[0] }
        : { type: 'MultiPolygon', coordinates: polygons },
    properties: f.props,
  };
}
