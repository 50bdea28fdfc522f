import { z } from 'zod';
import { ATTRIBUTES, type Attribute } from './catalogue.ts';

function attributeSchema(attr: Attribute): z.ZodType {
  switch (attr.type) {
    case 'int':
      return z.number().int().min(attr.min).max(attr.max);
    case 'decimal':
      return z.number().min(attr.min).max(attr.max);
    case 'enum':
      return z.enum(attr.values as [string, ...string[]]);
    case 'bool':
      return z.boolean();
    case 'set':
      return z.array(z.enum(attr.values as [string, ...string[]])).max(attr.values.length);
    case 'timestamp':
      return z.union([z.string().regex(/^\d{4}-\d{2}-\d{2}/, 'ISO-8601 date'), z.number().int()]);
  }
}

/**
 * A subscriber profile as the API accepts it: every catalogue attribute optional (absent or null =
 * unknown), unknown fields refused. Built from the catalogue, so OpenAPI documents each attribute.
 */
export function profileInputSchemaFor(catalogue: readonly Attribute[] = ATTRIBUTES) {
  const shape: Record<string, z.ZodType> = {};
  for (const attr of catalogue)
    shape[attr.name] = attributeSchema(attr).nullable().optional().describe(attr.description);
  return z.strictObject(shape);
}

export const profileInputSchema = profileInputSchemaFor(ATTRIBUTES);
