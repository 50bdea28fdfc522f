import type { Request, Response } from 'express';
import type { z } from 'zod';

/** Roles an API key can hold. `admin` may use every route; the others only routes that list them. */
export const ROLES = ['admin', 'analyst', 'retailer', 'viewer', 'ingest'] as const;
export type Role = (typeof ROLES)[number];

/** Who is calling: resolved from the Bearer key before any handler runs. */
export interface Principal {
  keyId: string;
  role: Role;
  /** Set (only) for retailer keys: the one tenant the key may see. */
  tenant?: string;
}

export const HTTP_METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];

/** A body the route reads itself instead of JSON: bytes of one of the listed content types. */
export interface RawBodySpec {
  /** Accepted content types, e.g. ['application/x-ndjson']; anything else answers 415. */
  contentTypes: readonly string[];
  /** Largest body (bytes or '10mb'); the app's body limit when absent. */
  limit?: number | string;
  /** true: the body is not read; the handler consumes `req` as a stream. false: `body` is a Buffer. */
  stream?: boolean;
}

/** Without a body schema: the raw bytes for `rawBody` routes (unless streamed), otherwise undefined. */
type InferBody<S> = S extends z.ZodType ? z.output<S> : Buffer | undefined;
/** Path parameters without a schema arrive as strings. */
type InferParams<S> = S extends z.ZodType ? z.output<S> : Record<string, string>;
/** A route without a query schema accepts no query parameters. */
type InferQuery<S> = S extends z.ZodType ? z.output<S> : Record<string, never>;

export interface HandlerContext<B, Q, P> {
  body: B;
  query: Q;
  params: P;
  principal: Principal;
  req: Request;
  res: Response;
  /** Request id (also in the `x-request-id` response header and every log line of the request). */
  requestId: string;
}

/**
 * What a handler returns: a value (sent as JSON with the route's success status), a `reply(...)`
 * for another status, headers or content type, or undefined after writing to `res` itself.
 */
export type HandlerResult = unknown;

export interface RouteSpec<
  BS extends z.ZodType | undefined,
  QS extends z.ZodType | undefined,
  PS extends z.ZodType | undefined,
> {
  method: HttpMethod;
  /** Express path, e.g. '/v1/geofences/:id'; shown as '/v1/geofences/{id}' in OpenAPI. */
  path: string;
  summary: string;
  description?: string;
  /** OpenAPI tag (group in /docs); defaults to the path's second segment. */
  tag?: string;
  /** Roles allowed besides admin (admin may use every route). Empty + `public: true` = no key needed. */
  roles: readonly Role[];
  /** No API key needed (health, docs). Such routes get no `principal` (a placeholder is passed). */
  public?: boolean;
  /** JSON body schema. Use strict objects (`z.strictObject`): unknown fields must be rejected. */
  body?: BS;
  /** Query schema: values arrive as strings (or arrays), so use z.coerce for numbers. Strict. */
  query?: QS;
  params?: PS;
  /** Read the body as raw bytes (NDJSON, CSV, ...) instead of JSON. Exclusive with `body`. */
  rawBody?: RawBodySpec;
  /** Schema of the success body, for OpenAPI (and checked in tests when the app validates responses). */
  response?: z.ZodType;
  /** Content type of the success body; application/json when absent. */
  responseContentType?: string;
  /** Success status; 200 when absent (201 for creations, 204 for empty answers). */
  status?: number;
  /** Other answers worth documenting (e.g. { 409: 'stale version' }); 400/401/403/404/429 are implied. */
  errors?: Record<number, string>;
  /** Other success answers (e.g. a bulk import's 200 next to a create's 201). */
  otherResponses?: Record<number, { description: string; schema: z.ZodType }>;
  handler(
    ctx: HandlerContext<InferBody<BS>, InferQuery<QS>, InferParams<PS>>,
  ): Promise<HandlerResult> | HandlerResult;
}

/** A declared route, ready for `createApp`. Create with `defineRoute`. */
export interface RouteDef {
  readonly method: HttpMethod;
  readonly path: string;
  readonly summary: string;
  readonly description?: string;
  readonly tag?: string;
  readonly roles: readonly Role[];
  readonly public: boolean;
  readonly body?: z.ZodType;
  readonly query?: z.ZodType;
  readonly params?: z.ZodType;
  readonly rawBody?: RawBodySpec;
  readonly response?: z.ZodType;
  readonly responseContentType?: string;
  readonly status: number;
  readonly errors: Record<number, string>;
  readonly otherResponses: Record<number, { description: string; schema: z.ZodType }>;
  readonly handler: (
    ctx: HandlerContext<unknown, unknown, unknown>,
  ) => Promise<HandlerResult> | HandlerResult;
}

/** Declares one route: who may call it, what it accepts, what it answers. See src/api/index.ts. */
export function defineRoute<
  BS extends z.ZodType | undefined = undefined,
  QS extends z.ZodType | undefined = undefined,
  PS extends z.ZodType | undefined = undefined,
>(spec: RouteSpec<BS, QS, PS>): RouteDef {
  if (!spec.path.startsWith('/')) throw new Error(`route path must start with '/': ${spec.path}`);
  if (spec.body && spec.rawBody)
    throw new Error(`route ${spec.method} ${spec.path}: body and rawBody exclude each other`);
  if (!spec.public && spec.roles.length === 0) {
    throw new Error(
      `route ${spec.method} ${spec.path}: declare its roles (['admin'] for an admin-only route) or public: true`,
    );
  }
  const roles: Role[] = spec.public ? [] : [...new Set<Role>(['admin', ...spec.roles])];
  return {
    method: spec.method,
    path: spec.path,
    summary: spec.summary,
    description: spec.description,
    tag: spec.tag,
    roles,
    public: spec.public === true,
    body: spec.body,
    query: spec.query,
    params: spec.params,
    rawBody: spec.rawBody,
    response: spec.response,
    responseContentType: spec.responseContentType,
    status: spec.status ?? 200,
    errors: spec.errors ?? {},
    otherResponses: spec.otherResponses ?? {},
    handler: spec.handler as RouteDef['handler'],
  };
}

/** A non-default answer from a handler: status, headers, content type. */
export interface Reply {
  readonly __reply: true;
  readonly status: number;
  readonly body: unknown;
  readonly headers: Record<string, string>;
  readonly contentType?: string;
}

/** Answers with another status, headers or content type than the route's default. */
export function reply(
  status: number,
  body?: unknown,
  options: { headers?: Record<string, string>; contentType?: string } = {},
): Reply {
  return { __reply: true, status, body, headers: options.headers ?? {}, contentType: options.contentType };
}

export function isReply(value: unknown): value is Reply {
  return typeof value === 'object' && value !== null && (value as Reply).__reply === true;
}
