import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type FeatureError, loadFeatureCollection } from './collection.ts';
import type { Fence } from './types.ts';
import type { FenceLimits } from './validate.ts';

export interface CatalogueResult {
  fences: Fence[];
  errors: (FeatureError & { file: string })[];
  files: string[];
}

/**
 * Loads every `*.geojson` / `*.json` FeatureCollection in a folder. Bad features and unreadable
 * files are reported, never fatal; ids must be unique across files.
 */
export async function loadCatalogue(dir: string, limits: FenceLimits): Promise<CatalogueResult> {
  const names = (await readdir(dir)).filter((n) => n.endsWith('.geojson') || n.endsWith('.json')).sort();
  const fences: Fence[] = [];
  const errors: CatalogueResult['errors'] = [];
  const seen = new Map<string, string>();
  for (const file of names) {
    let data: unknown;
    try {
      data = JSON.parse(await readFile(join(dir, file), 'utf8'));
    } catch (err) {
      errors.push({
        file,
        index: -1,
        code: 'GEOFENCE_CATALOGUE_INVALID',
        problem: 'SCHEMA',
        message: `${file}: not valid JSON (${(err as Error).message})`,
      });
      continue;
    }
    const result = loadFeatureCollection(data, limits, file);
    for (const e of result.errors) errors.push({ ...e, file });
    for (const fence of result.fences) {
      const other = seen.get(fence.props.id);
      if (other) {
        errors.push({
          file,
          index: -1,
          id: fence.props.id,
          code: 'GEOFENCE_INVALID',
          problem: 'DUPLICATE_ID',
          message: `${file}: geofence id "${fence.props.id}" is already defined in ${other}`,
        });
        continue;
      }
      seen.set(fence.props.id, file);
      fences.push(fence);
    }
  }
  return { fences, errors, files: names };
}
