import { OpenAPIRegistry, OpenApiGeneratorV31, type ResponseConfig } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import { ERROR_CODES } from '../errors.ts';
import type { RouteDef } from './route.ts';

export const problemSchema = z
  .object({
    type: z.string().describe('urn:geotrigger:error:<code>'),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    code: z.enum(ERROR_CODES).describe('Stable error code, documented in docs/errors.md'),
    instance: z.string().optional(),
    requestId: z.string().optional(),
    errors: z
      .array(z.object({ path: z.string(), message: z.string() }))
      .optional()
      .describe('Each validation issue (VALIDATION_FAILED)'),
  })
  .meta({ id: 'Problem' });

/** '/v1/geofences/:id' → '/v1/geofences/{id}' */
export function openApiPath(expressPath: string): string {
  return expressPath.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

/** Names of the path parameters of an express path. */
export function pathParamNames(expressPath: string): string[] {
  return [...expressPath.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => m[1]);
}

/** The params schema of a route: its own, or one string per path parameter. */
export function paramsSchemaOf(route: RouteDef): z.ZodType | undefined {
  if (route.params) return route.params;
  const names = pathParamNames(route.path);
  if (names.length === 0) return undefined;
  return z.strictObject(Object.fromEntries(names.map((n) => [n, z.string().min(1).max(256)])));
}

const problemContent = { 'application/problem+json': { schema: problemSchema } };

const STANDARD_ERRORS: Record<number, string> = {
  400: 'Invalid request (VALIDATION_FAILED, BODY_MALFORMED)',
  401: 'No valid API key (UNAUTHENTICATED)',
  403: 'The key’s role may not use this route (FORBIDDEN)',
  429: 'Too many requests for this key (RATE_LIMITED); see Retry-After',
};

/** The OpenAPI 3.1 document of the given routes, generated from the schemas that validate them. */
export function buildOpenApiDocument(
  routes: readonly RouteDef[],
  info: { title?: string; version?: string; description?: string } = {},
) {
  const registry = new OpenAPIRegistry();
  const bearer = registry.registerComponent('securitySchemes', 'bearer', {
    type: 'http',
    scheme: 'bearer',
    description: 'API key: `Authorization: Bearer <key>`',
  });

  for (const route of routes) {
    const responses: Record<number, ResponseConfig> = {};
    const ok: ResponseConfig = { description: 'Success' };
    if (route.status !== 204) {
      const type = route.responseContentType ?? 'application/json';
      ok.content = { [type]: { schema: route.response ?? z.unknown() } };
    }
    responses[route.status] = ok;
    const errors: Record<number, string> = route.public
      ? { 400: STANDARD_ERRORS[400] }
      : { ...STANDARD_ERRORS };
    if (route.body || route.rawBody) {
      errors[413] = 'Body above the limit (BODY_TOO_LARGE)';
      errors[415] = 'Wrong content type (UNSUPPORTED_MEDIA_TYPE)';
    }
    if (pathParamNames(route.path).length > 0) errors[404] = 'No such object visible to this key (NOT_FOUND)';
    Object.assign(errors, route.errors);
    for (const [status, description] of Object.entries(errors)) {
      if (Number(status) === route.status) continue;
      responses[Number(status)] = { description, content: problemContent };
    }
    for (const [status, other] of Object.entries(route.otherResponses)) {
      responses[Number(status)] = {
        description: other.description,
        content: { 'application/json': { schema: other.schema } },
      };
    }

    const request: NonNullable<Parameters<OpenAPIRegistry['registerPath']>[0]['request']> = {};
    const params = paramsSchemaOf(route);
    if (params) request.params = params as z.ZodObject;
    if (route.query) request.query = route.query as z.ZodObject;
    if (route.body) {
      request.body = { required: true, content: { 'application/json': { schema: route.body } } };
    } else if (route.rawBody) {
      request.body = {
        required: true,
        content: Object.fromEntries(
          route.rawBody.contentTypes.map((t) => [t, { schema: { type: 'string' as const } }]),
        ),
      };
    }

    const rolesText = route.public ? 'Public: no API key needed.' : `Roles: ${route.roles.join(', ')}.`;
    registry.registerPath({
      method: route.method,
      path: openApiPath(route.path),
      operationId: operationId(route),
      summary: route.summary,
      description: route.description ? `${route.description}\n\n${rolesText}` : rolesText,
      tags: [route.tag ?? tagOf(route.path)],
      security: route.public ? [] : [{ [bearer.name]: [] }],
      'x-roles': route.roles,
      request,
      responses,
    });
  }

  const generator = new OpenApiGeneratorV31(registry.definitions);
  return generator.generateDocument({
    openapi: '3.1.0',
    info: {
      title: info.title ?? 'geotrigger API',
      version: info.version ?? '0.1.0',
      description:
        info.description ??
        'Geofences, segments, campaigns, consent and reports of geotrigger. Errors are RFC 9457 problem+json.',
    },
    servers: [{ url: '/' }],
  });
}

function tagOf(path: string): string {
  const segs = path.split('/').filter(Boolean);
  return (segs[0] === 'v1' ? segs[1] : segs[0]) ?? 'service';
}

/** Stable operation id: method + path words, e.g. getV1GeofencesById. */
export function operationId(route: RouteDef): string {
  const words = route.path
    .split('/')
    .filter(Boolean)
    .map((s) =>
      s.startsWith(':')
        ? `By${cap(s.slice(1))}`
        : cap(s.replace(/[^A-Za-z0-9]+(.)?/g, (_m, c) => (c ? c.toUpperCase() : ''))),
    );
  return route.method + words.join('');
}

function cap(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
