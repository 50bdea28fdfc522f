import { z } from 'zod';

// Shapes are checked here; coordinate values and geometry are checked in validate.ts so that each
// failure can name the feature, the ring and the problem precisely.
const position = z
  .array(z.number())
  .min(2)
  .max(3)
  .describe('[lon, lat] (an altitude is accepted and ignored)');
const ring = z
  .array(position)
  .describe('A closed linear ring: first position = last position, at least 4 positions');

export const polygonGeometrySchema = z
  .object({
    type: z.literal('Polygon'),
    coordinates: z.array(ring).min(1),
    bbox: z.array(z.number()).optional(),
  })
  .strict();
export const multiPolygonGeometrySchema = z
  .object({
    type: z.literal('MultiPolygon'),
    coordinates: z.array(z.array(ring).min(1)),
    bbox: z.array(z.number()).optional(),
  })
  .strict();
export const pointGeometrySchema = z
  .object({ type: z.literal('Point'), coordinates: position, bbox: z.array(z.number()).optional() })
  .strict()
  .describe('A circle fence: the centre, with properties.radiusM');

export const fencePropertiesSchema = z
  .object({
    id: z.string().min(1).max(128).optional().describe('Fence id; Feature.id is used when absent'),
    tenant: z.string().min(1).max(128).describe('The retailer that owns the fence'),
    name: z.string().min(1).max(200),
    storeId: z.string().min(1).max(128),
    address: z.string().max(500).default(''),
    tags: z.array(z.string().min(1).max(64)).max(50).default([]),
    maxAccuracyM: z
      .number()
      .positive()
      .max(100_000)
      .optional()
      .describe('Largest ping uncertainty (m) the fence accepts; the configured default when absent'),
    timeZone: z.string().min(1).max(64).default('Europe/Kyiv').describe('IANA time zone of the store'),
    radiusM: z.number().optional().describe('Circle radius in metres (only with a Point geometry or center)'),
    center: position.optional().describe('Circle centre [lon, lat], alternative to a Point geometry'),
  })
  .strict();

/** One geofence as a GeoJSON Feature: Polygon, MultiPolygon, or a circle (Point + radiusM). */
export const fenceFeatureSchema = z
  .object({
    type: z.literal('Feature'),
    id: z.union([z.string().min(1).max(128), z.number()]).optional(),
    geometry: z
      .discriminatedUnion('type', [polygonGeometrySchema, multiPolygonGeometrySchema, pointGeometrySchema])
      .nullable(),
    properties: fencePropertiesSchema,
    bbox: z.array(z.number()).optional(),
  })
  .strict();

export const fenceCollectionSchema = z
  .object({
    type: z.literal('FeatureCollection'),
    features: z.array(z.unknown()),
    bbox: z.array(z.number()).optional(),
  })
  .passthrough();

export type FenceFeatureInput = z.input<typeof fenceFeatureSchema>;
