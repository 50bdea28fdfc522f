import { randomUUID } from 'node:crypto';
import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { pinoHttp } from 'pino-http';
import type { Registry } from 'prom-client';
import { z } from 'zod';
import { AppError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { type Authenticator, bearerToken } from './auth.ts';
import { createDocsRouter } from './docs-ui.ts';
import { createHttpMetrics, createMetricsRegistry } from './metrics.ts';
import { buildOpenApiDocument, paramsSchemaOf } from './openapi.ts';
import { sendProblem, toProblem, validationError } from './problem.ts';
import { createRateLimiter } from './rate-limit.ts';
import { defineRoute, isReply, type Principal, type RouteDef, reply } from './route.ts';

export type ReadinessCheck = () => Promise<boolean> | boolean;

export interface AppOptions {
  logger: Logger;
  auth: Authenticator;
  routes: readonly RouteDef[];
  /** Named dependency checks answered by /readyz (store; Kafka and SMPP when configured). */
  readiness?: Record<string, ReadinessCheck>;
  /** Served at /metrics; one with the default process metrics is created when absent. */
  metricsRegistry?: Registry;
  /** Largest JSON body (bytes or '5mb'). */
  bodyLimit?: number | string;
  /** Requests per minute per API key (and per client address for requests without a valid key). */
  rateLimitPerMin?: number;
  /** Check every answer against its route's response schema (tests); a mismatch is a 500. */
  validateResponses?: boolean;
  /** Time one readiness check may take before it counts as down. */
  readinessTimeoutMs?: number;
  /** Express `trust proxy` (for client addresses behind a load balancer). */
  trustProxy?: boolean | number | string;
}

declare module 'express-serve-static-core' {
  interface Request {
    id: string;
    principal?: Principal;
  }
}

const ANONYMOUS: Principal = Object.freeze({ keyId: 'anonymous', role: 'viewer' });
const REQUEST_ID_RE = /^[A-Za-z0-9._:-]{1,128}$/;
const JSON_TYPES = ['application/json', 'application/*+json'];

/**
 * The HTTP API as an express app: request ids, pino-http logging, per-key rate limits, bearer-key
 * authentication, role checks, zod validation, problem+json errors, /livez, /readyz, /metrics,
 * /openapi.json and /docs, then every declared route.
 */
export function createApp(opts: AppOptions): express.Express {
  const logger = opts.logger.child({ stage: 'api' });
  const registry = opts.metricsRegistry ?? createMetricsRegistry();
  const httpMetrics = createHttpMetrics(registry);
  const limiter = createRateLimiter({ perMin: opts.rateLimitPerMin ?? 600 });
  const bodyLimit = opts.bodyLimit ?? '5mb';
  const systemRoutes = createSystemRoutes(opts, registry);
  const routes = [...systemRoutes, ...opts.routes];
  assertUniqueRoutes(routes);
  let openApiDoc: unknown;

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  if (opts.trustProxy !== undefined) app.set('trust proxy', opts.trustProxy);

  app.use((req, res, next) => {
    const incoming = req.headers['x-request-id'];
    req.id = typeof incoming === 'string' && REQUEST_ID_RE.test(incoming) ? incoming : randomUUID();
    res.setHeader('x-request-id', req.id);
    // API answers are per-key data: never cached by intermediaries, never sniffed as another type.
    res.setHeader('cache-control', 'no-store');
    res.setHeader('x-content-type-options', 'nosniff');
    const start = process.hrtime.bigint();
    res.on('finish', () => {
      const route = (res.locals.routePath as string | undefined) ?? 'unmatched';
      httpMetrics.observe(req.method, route, res.statusCode, Number(process.hrtime.bigint() - start) / 1e9);
    });
    next();
  });

  app.use(
    pinoHttp({
      logger,
      genReqId: (req) => (req as Request).id,
      autoLogging: {
        ignore: (req) => req.url === '/livez' || req.url === '/metrics' || req.url === '/readyz',
      },
      customLogLevel: (_req, res, err) =>
        err || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'info' : 'debug',
      // Only harmless request fields are logged: never headers such as Authorization, never bodies.
      serializers: {
        req: (req: { id: string; method: string; url: string; headers: Record<string, string> }) => ({
          id: req.id,
          method: req.method,
          url: req.url.split('?')[0],
          contentType: req.headers?.['content-type'],
          contentLength: req.headers?.['content-length'],
        }),
        res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
      },
      customProps: (req) => ({ keyId: (req as Request).principal?.keyId }),
    }),
  );

  app.use('/docs', createDocsRouter());

  const router = express.Router({ strict: false, caseSensitive: true });
  for (const route of routes) {
    const chain: RequestHandler[] = [markRoute(route)];
    if (!route.public) chain.push(authenticate(opts.auth, limiter), authorize(route));
    else chain.push(rateLimitAnonymous(limiter));
    chain.push(...bodyReaders(route, bodyLimit));
    chain.push(
      runHandler(route, opts.validateResponses === true, () => {
        openApiDoc ??= buildOpenApiDocument(routes);
        return openApiDoc;
      }),
    );
    router[route.method](route.path, ...chain);
  }
  app.use(router);

  app.use((req, _res, next) => {
    next(new AppError('NOT_FOUND', `no route ${req.method} ${req.path}`));
  });

  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const appErr = fromExpressError(err);
    const problem = toProblem(appErr);
    problem.instance = req.path;
    problem.requestId = req.id;
    // pino-http logs the request once when it finishes, with this error (stack and cause) for 5xx.
    if (problem.status >= 500) res.err = err instanceof Error ? err : new Error(String(err));
    const headers: Record<string, string> = {};
    if (problem.status === 401) headers['www-authenticate'] = 'Bearer';
    const retryAfter = ((appErr as AppError).details as { retryAfterSec?: number } | undefined)
      ?.retryAfterSec;
    if (retryAfter !== undefined) headers['retry-after'] = String(retryAfter);
    else if (problem.status === 503) headers['retry-after'] = '1';
    sendProblem(res, problem, headers);
  });

  return app;
}

function markRoute(route: RouteDef): RequestHandler {
  return (_req, res, next) => {
    res.locals.routePath = route.path;
    next();
  };
}

function authenticate(auth: Authenticator, limiter: ReturnType<typeof createRateLimiter>): RequestHandler {
  return async (req, _res, next) => {
    const token = bearerToken(req.headers.authorization);
    const principal = token ? await auth.authenticate(token) : undefined;
    // Requests without a valid key share their client address's bucket: guessing keys is rate limited too.
    const decision = limiter.take(principal ? `key:${principal.keyId}` : `ip:${req.ip ?? 'unknown'}`);
    if (!decision.allowed) {
      throw new AppError('RATE_LIMITED', `rate limit exceeded; retry in ${decision.retryAfterSec} s`, {
        retriable: true,
        details: { retryAfterSec: decision.retryAfterSec },
      });
    }
    if (!principal) {
      throw new AppError(
        'UNAUTHENTICATED',
        token ? 'the API key is unknown or revoked' : 'an API key is required: Authorization: Bearer <key>',
      );
    }
    req.principal = principal;
    next();
  };
}

function rateLimitAnonymous(limiter: ReturnType<typeof createRateLimiter>): RequestHandler {
  return (req, _res, next) => {
    if (req.path === '/livez' || req.path === '/readyz' || req.path === '/metrics') return next();
    const decision = limiter.take(`ip:${req.ip ?? 'unknown'}`);
    if (!decision.allowed) {
      throw new AppError('RATE_LIMITED', `rate limit exceeded; retry in ${decision.retryAfterSec} s`, {
        retriable: true,
        details: { retryAfterSec: decision.retryAfterSec },
      });
    }
    next();
  };
}

function authorize(route: RouteDef): RequestHandler {
  return (req, _res, next) => {
    const role = req.principal?.role;
    if (!role || !route.roles.includes(role)) {
      throw new AppError('FORBIDDEN', `role '${role}' may not ${route.method.toUpperCase()} ${route.path}`);
    }
    next();
  };
}

function bodyReaders(route: RouteDef, appLimit: number | string): RequestHandler[] {
  if (route.rawBody) {
    const spec = route.rawBody;
    const checkType: RequestHandler = (req, _res, next) => {
      if (!req.is([...spec.contentTypes])) {
        throw new AppError(
          'UNSUPPORTED_MEDIA_TYPE',
          `content type '${req.headers['content-type'] ?? '(none)'}' not accepted; send ${spec.contentTypes.join(' or ')}`,
        );
      }
      next();
    };
    if (spec.stream) return [checkType];
    return [checkType, express.raw({ type: () => true, limit: spec.limit ?? appLimit })];
  }
  if (route.body) {
    const checkType: RequestHandler = (req, _res, next) => {
      // An empty body (Content-Length: 0) is no body: answered "body required" below, not 415.
      if (req.headers['content-length'] !== '0' && req.is(JSON_TYPES) === false) {
        throw new AppError(
          'UNSUPPORTED_MEDIA_TYPE',
          `content type '${req.headers['content-type'] ?? '(none)'}' not accepted; send application/json`,
        );
      }
      next();
    };
    return [checkType, express.json({ type: JSON_TYPES, limit: appLimit, strict: false })];
  }
  // A route without a body refuses one rather than silently ignoring it.
  return [
    (req, _res, next) => {
      const length = req.headers['content-length'];
      if (req.headers['transfer-encoding'] || (length !== undefined && length !== '0')) {
        throw new AppError('UNSUPPORTED_MEDIA_TYPE', `${req.method} ${route.path} takes no request body`);
      }
      next();
    },
  ];
}

function runHandler(route: RouteDef, validateResponses: boolean, openApi: () => unknown): RequestHandler {
  const paramsSchema = paramsSchemaOf(route);
  return async (req, res) => {
    let body: unknown;
    if (route.body) {
      if (req.body === undefined) {
        throw new AppError('VALIDATION_FAILED', 'a JSON request body is required', {
          details: { errors: [{ path: '(root)', message: 'a JSON request body is required' }] },
        });
      }
      const parsed = route.body.safeParse(req.body);
      if (!parsed.success) throw validationError('body', parsed.error);
      body = parsed.data;
    } else if (route.rawBody && !route.rawBody.stream) {
      body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    }
    let query: unknown = {};
    if (route.query) {
      const parsed = route.query.safeParse({ ...req.query });
      if (!parsed.success) throw validationError('query', parsed.error);
      query = parsed.data;
    } else if (Object.keys(req.query).length > 0) {
      throw validationError(
        'query',
        new z.ZodError([
          {
            code: 'unrecognized_keys',
            keys: Object.keys(req.query),
            path: [],
            message: 'no query parameters accepted',
            input: req.query,
          },
        ]),
      );
    }
    let params: unknown = {};
    if (paramsSchema) {
      const parsed = paramsSchema.safeParse({ ...req.params });
      if (!parsed.success) throw validationError('params', parsed.error);
      params = parsed.data;
    }

    const result = await route.handler({
      body,
      query,
      params,
      principal: req.principal ?? ANONYMOUS,
      req,
      res,
      requestId: req.id,
    });
    if (result === openApiMarker) {
      res.json(openApi());
      return;
    }
    if (res.headersSent || res.writableEnded) return;
    let status = route.status;
    let payload = result;
    let contentType = route.responseContentType;
    if (isReply(result)) {
      status = result.status;
      payload = result.body;
      contentType = result.contentType ?? contentType;
      for (const [k, v] of Object.entries(result.headers)) res.setHeader(k, v);
    }
    if (validateResponses && route.response && status === route.status && payload !== undefined) {
      const check = route.response.safeParse(payload);
      if (!check.success) {
        throw new AppError('INTERNAL', `response of ${route.method} ${route.path} does not fit its schema`, {
          cause: check.error,
        });
      }
    }
    res.status(status);
    if (payload === undefined || status === 204) {
      res.end();
      return;
    }
    if (contentType && !contentType.includes('json')) {
      res.type(contentType).send(payload);
      return;
    }
    res.type(contentType ?? 'application/json').send(JSON.stringify(payload));
  };
}

/** Returned by the /openapi.json handler: the app answers with the document of all its routes. */
const openApiMarker = Symbol('openapi');

function createSystemRoutes(opts: AppOptions, registry: Registry): RouteDef[] {
  const checks = opts.readiness ?? {};
  const timeoutMs = opts.readinessTimeoutMs ?? 2000;
  const readySchema = z.object({
    status: z.enum(['ready', 'not_ready']),
    checks: z.record(z.string(), z.enum(['up', 'down'])),
  });
  return [
    defineRoute({
      method: 'get',
      path: '/livez',
      summary: 'Liveness: the process is up and serving',
      tag: 'service',
      public: true,
      roles: [],
      response: z.object({ status: z.literal('ok') }),
      handler: () => ({ status: 'ok' }),
    }),
    defineRoute({
      method: 'get',
      path: '/readyz',
      summary: 'Readiness: the state of each dependency (store; Kafka and SMPP when configured)',
      tag: 'service',
      public: true,
      roles: [],
      response: readySchema,
      otherResponses: {
        503: { description: 'A dependency is down (the body lists which)', schema: readySchema },
      },
      handler: async () => {
        const entries = await Promise.all(
          Object.entries(checks).map(
            async ([name, check]) => [name, await runCheck(check, timeoutMs)] as const,
          ),
        );
        const result = Object.fromEntries(entries.map(([n, ok]) => [n, ok ? 'up' : 'down']));
        const ready = entries.every(([, ok]) => ok);
        const payload = { status: ready ? 'ready' : 'not_ready', checks: result };
        return ready ? payload : reply(503, payload, { headers: { 'retry-after': '5' } });
      },
    }),
    defineRoute({
      method: 'get',
      path: '/metrics',
      summary: 'Prometheus metrics (text exposition format)',
      tag: 'service',
      public: true,
      roles: [],
      responseContentType: 'text/plain',
      response: z.string(),
      handler: async ({ res }) => {
        res.type(registry.contentType).send(await registry.metrics());
      },
    }),
    defineRoute({
      method: 'get',
      path: '/openapi.json',
      summary: 'This API as an OpenAPI 3.1 document',
      tag: 'service',
      public: true,
      roles: [],
      handler: () => openApiMarker,
    }),
  ];
}

async function runCheck(check: () => Promise<boolean> | boolean, timeoutMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const timeout = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    return await Promise.race([Promise.resolve().then(check), timeout]);
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

function assertUniqueRoutes(routes: readonly RouteDef[]): void {
  const seen = new Set<string>();
  for (const r of routes) {
    const key = `${r.method} ${r.path.replace(/:[A-Za-z0-9_]+/g, ':')}`;
    if (seen.has(key)) throw new Error(`route declared twice: ${r.method.toUpperCase()} ${r.path}`);
    seen.add(key);
  }
}

/** body-parser and other express errors carry `type`/`status`; map them to stable codes. */
function fromExpressError(err: unknown): unknown {
  // Anything not recognised stays as is and becomes a 500 INTERNAL in toProblem.
  if (err instanceof AppError) return err;
  const e = err as { type?: string; status?: number; message?: string; limit?: number };
  switch (e?.type) {
    case 'entity.too.large':
      return new AppError('BODY_TOO_LARGE', `request body is larger than the limit of ${e.limit} bytes`, {
        cause: err,
      });
    case 'entity.parse.failed':
      return new AppError('BODY_MALFORMED', `request body is not valid JSON: ${e.message}`, { cause: err });
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new AppError('UNSUPPORTED_MEDIA_TYPE', e.message ?? 'unsupported encoding', { cause: err });
    case 'request.aborted':
    case 'request.size.invalid':
    case 'stream.encoding.set':
      return new AppError('BODY_MALFORMED', e.message ?? 'request body could not be read', { cause: err });
  }
  // Other client errors raised by express itself (e.g. a path parameter that is not valid %-encoding).
  if (typeof e?.status === 'number' && e.status >= 400 && e.status < 500) {
    const code = e.status === 404 ? 'NOT_FOUND' : 'VALIDATION_FAILED';
    return new AppError(code, e.message ?? 'bad request', { cause: err, httpStatus: e.status });
  }
  return err;
}
