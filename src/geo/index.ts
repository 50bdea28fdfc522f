export { type CatalogueResult, loadCatalogue } from './catalogue.ts';
export {
  type FeatureError,
  fenceToFeature,
  type LoadResult,
  loadFeatureCollection,
  toFeatureCollection,
} from './collection.ts';
export {
  buildFenceIndex,
  type FenceIndex,
  type FenceIndexOptions,
  type FenceIndexStats,
  fenceNear,
} from './fence-index.ts';
export {
  type FenceChange,
  type PackedFence,
  type PackedFenceChange,
  packFenceChange,
  packFences,
  unpackFences,
} from './fence-transfer.ts';
export { destination, distanceM, EARTH_RADIUS_M } from './geodesy.ts';
export { createMatcher, type GeoMatcher, type MatcherOptions, type MatchSnapshot } from './matcher.ts';
export { fenceCollectionSchema, fenceFeatureSchema, fencePropertiesSchema } from './schema.ts';
export {
  type BBox,
  type Fence,
  type FenceProps,
  type FenceSnapshot,
  type Matcher,
  type PolygonCoords,
  type Position,
  polygonFence,
} from './types.ts';
export {
  DEFAULT_FENCE_LIMITS,
  FENCE_PROBLEMS,
  type FenceLimits,
  type FenceProblem,
  MAX_RADIUS_M,
  validateFence,
} from './validate.ts';
