import assert from 'node:assert/strict';
import { test } from 'node:test';
import { z } from 'zod';
import { HTTP_STATUS_BY_CODE, toProblem, validationError } from '../../../src/api/index.ts';
import { AppError, ERROR_CODES } from '../../../src/errors.ts';

test('every error code maps to an HTTP error status, and only INTERNAL-like codes to 5xx by default', () => {
  for (const code of ERROR_CODES) {
    const p = toProblem(new AppError(code, `a ${code}`));
    assert.ok(p.status >= 400 && p.status < 600, code);
    assert.equal(p.code, code);
    assert.equal(p.type, `urn:geotrigger:error:${code}`);
  }
  for (const [code, status] of Object.entries(HTTP_STATUS_BY_CODE)) {
    if (code.endsWith('_NOT_FOUND')) assert.equal(status, 404, code);
    if (code.endsWith('_UNAVAILABLE')) assert.equal(status, 503, code);
  }
  assert.equal(toProblem(new AppError('VERSION_CONFLICT', 'x')).status, 409);
  assert.equal(toProblem(new AppError('RATE_LIMITED', 'x')).status, 429);
});

test('an error’s own httpStatus wins over the mapping', () => {
  assert.equal(toProblem(new AppError('GEOFENCE_INVALID', 'x', { httpStatus: 400 })).status, 400);
});

test('anything that is not an AppError becomes a 500 that shows no internals', () => {
  const p = toProblem(new Error('password=hunter2 at db.ts:12'));
  assert.equal(p.status, 500);
  assert.equal(p.code, 'INTERNAL');
  assert.equal(p.detail, 'internal error');
  assert.ok(!JSON.stringify(p).includes('hunter2'));
});

test('details other than the well-known fields never reach the client', () => {
  const p = toProblem(
    new AppError('VERSION_CONFLICT', 'stale', {
      details: { currentVersion: 3, sql: 'SELECT secret', expectedVersion: 2 },
    }),
  );
  assert.equal(p.currentVersion, 3);
  assert.equal(p.expectedVersion, 2);
  assert.equal((p as Record<string, unknown>).sql, undefined);
});

test('a zod failure becomes VALIDATION_FAILED listing each issue’s path and message, unknown keys one by one', () => {
  const schema = z.strictObject({ a: z.number(), b: z.strictObject({ c: z.string() }) });
  const r = schema.safeParse({ a: 'x', b: { c: 1, d: 2 }, e: 3, f: 4 });
  assert.equal(r.success, false);
  const err = validationError('body', r.error!);
  const p = toProblem(err);
  assert.equal(p.status, 400);
  assert.equal(p.code, 'VALIDATION_FAILED');
  const paths = p.errors!.map((e) => e.path).sort();
  assert.deepEqual(paths, ['a', 'b.c', 'b.d', 'e', 'f']);
  assert.ok(p.errors!.find((e) => e.path === 'e')!.message.includes('unknown'));
  assert.match(p.detail, /^invalid body: /);
  const q = toProblem(validationError('query', z.strictObject({ limit: z.number() }).safeParse({}).error!));
  assert.equal(q.errors![0].path, 'query.limit');
});

test('a huge number of issues is capped, so an answer stays small', () => {
  const r = z.array(z.number()).safeParse(Array.from({ length: 10_000 }, () => 'x'));
  const p = toProblem(validationError('body', r.error!));
  assert.equal(p.errors!.length, 50);
  assert.match(p.detail, /and 49 more/);
});
