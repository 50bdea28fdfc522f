import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { loadConfig } from '../../src/config.ts';
import { AppError, ERROR_CODES, isAppError } from '../../src/errors.ts';

test('every error code is documented in docs/errors.md', () => {
  const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
  const missing = ERROR_CODES.filter((code) => !doc.includes(`\`${code}\``));
  assert.deepEqual(missing, []);
});

test('an AppError carries its code, retriability and cause', () => {
  const cause = new Error('socket closed');
  const err = new AppError('SMPP_CONNECTION_LOST', 'lost', { retriable: true, cause });
  assert.equal(err.code, 'SMPP_CONNECTION_LOST');
  assert.equal(err.retriable, true);
  assert.equal(err.cause, cause);
  assert.ok(isAppError(err, 'SMPP_CONNECTION_LOST'));
  assert.ok(!isAppError(err, 'INTERNAL'));
});

test('configuration defaults parse from an empty environment and are frozen', () => {
  const config = loadConfig({});
  assert.equal(config.PORT, 8080);
  assert.equal(config.DEMO, true);
  assert.ok(Object.isFrozen(config));
});

test('an invalid configuration names every bad key', () => {
  assert.throws(
    () => loadConfig({ PORT: 'eighty', LOG_LEVEL: 'loud' }),
    (err: unknown) =>
      isAppError(err, 'CONFIG_INVALID') && /PORT/.test(err.message) && /LOG_LEVEL/.test(err.message),
  );
});
