import type { Response } from 'express';
import type { z } from 'zod';
import { AppError, type ErrorCode, isAppError } from '../errors.ts';

/** HTTP status of each error code when the error itself does not set one; anything else is 500. */
export const HTTP_STATUS_BY_CODE: Partial<Record<ErrorCode, number>> = {
  VALIDATION_FAILED: 400,
  BODY_MALFORMED: 400,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  GEOFENCE_NOT_FOUND: 404,
  SEGMENT_NOT_FOUND: 404,
  CAMPAIGN_NOT_FOUND: 404,
  VERSION_CONFLICT: 409,
  CAMPAIGN_STATE_INVALID: 409,
  BODY_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  // Well-formed requests whose content is semantically wrong.
  GEOFENCE_INVALID: 422,
  GEOFENCE_CATALOGUE_INVALID: 422,
  SEGMENT_INVALID: 422,
  CAMPAIGN_INVALID: 422,
  POLICY_INVALID: 422,
  CONSENT_INVALID: 422,
  PING_INVALID: 422,
  PROFILE_ROW_INVALID: 422,
  STORE_ROW_INVALID: 422,
  RATE_LIMITED: 429,
  STORE_UNAVAILABLE: 503,
  STORE_BACKPRESSURE: 503,
  KAFKA_UNAVAILABLE: 503,
};

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/** RFC 9457 problem details, with the stable error `code` and, for validation failures, each issue. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: ErrorCode;
  instance?: string;
  requestId?: string;
  errors?: { path: string; message: string }[];
  [extension: string]: unknown;
}

/** The problem `type` URI of a code: a URN, since codes are documented in docs/errors.md. */
export function problemType(code: ErrorCode): string {
  return `urn:geotrigger:error:${code}`;
}

export function httpStatusOf(err: AppError): number {
  return err.httpStatus ?? HTTP_STATUS_BY_CODE[err.code] ?? 500;
}

/** Path in the JSON-pointer-ish dotted form clients see: `features.3.geometry.coordinates`. */
export function issuePath(path: readonly PropertyKey[]): string {
  return path.length === 0 ? '(root)' : path.map((p) => String(p)).join('.');
}

/** A zod failure as VALIDATION_FAILED, naming where (body, query, params) and each issue. */
export function validationError(where: 'body' | 'query' | 'params', error: z.ZodError): AppError {
  const prefix = (path: readonly PropertyKey[]) =>
    where === 'body' ? issuePath(path) : `${where}.${issuePath(path)}`;
  const issues: { path: string; message: string }[] = [];
  for (const i of error.issues) {
    if (issues.length >= 50) break;
    // One entry per unknown field, so the path names the field itself.
    if (i.code === 'unrecognized_keys') {
      for (const key of i.keys.slice(0, 10))
        issues.push({ path: prefix([...i.path, key]), message: 'unknown field' });
    } else {
      issues.push({ path: prefix(i.path), message: i.message });
    }
  }
  const first = issues[0];
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : '';
  return new AppError('VALIDATION_FAILED', `invalid ${where}: ${first?.path}: ${first?.message}${more}`, {
    details: { errors: issues },
  });
}

/** Builds the problem document for any thrown value; 5xx details are not shown to clients. */
export function toProblem(err: unknown): Problem {
  const appErr = isAppError(err) ? err : new AppError('INTERNAL', 'internal error', { cause: err });
  const status = httpStatusOf(appErr);
  const problem: Problem = {
    type: problemType(appErr.code),
    title: TITLES[status] ?? 'Error',
    status,
    detail: status >= 500 && appErr.code === 'INTERNAL' ? 'internal error' : appErr.message,
    code: appErr.code,
  };
  if (status < 500) Object.assign(problem, publicDetails(appErr.details));
  return problem;
}

/** Writes a problem as application/problem+json. */
export function sendProblem(res: Response, problem: Problem, headers: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
  res.status(problem.status).type('application/problem+json').send(JSON.stringify(problem));
}

/**
 * The parts of AppError details shown to clients: validation issues as `errors`, and a few
 * well-known scalar fields (the geo stage's `problem` and `feature`, concurrency versions).
 */
function publicDetails(details: unknown): Partial<Problem> {
  if (!details || typeof details !== 'object') return {};
  const d = details as Record<string, unknown>;
  const out: Partial<Problem> = {};
  const list = Array.isArray(d.errors) ? d.errors : Array.isArray(d.issues) ? d.issues : undefined;
  if (list) {
    out.errors = list.slice(0, 50).map((e) => {
      const i = e as { path?: unknown; message?: unknown };
      const path = Array.isArray(i.path) ? issuePath(i.path) : String(i.path ?? '') || '(root)';
      return { path, message: String(i.message ?? '') };
    });
  }
  for (const key of ['problem', 'feature', 'expectedVersion', 'currentVersion', 'retryAfterSec'] as const) {
    const v = d[key];
    if (typeof v === 'string' || typeof v === 'number') out[key] = v;
  }
  return out;
}
