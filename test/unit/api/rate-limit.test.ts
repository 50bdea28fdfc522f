import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createRateLimiter } from '../../../src/api/index.ts';

test('a key may burst up to its per-minute allowance, then is refused with a Retry-After', () => {
  const limiter = createRateLimiter({ perMin: 60 });
  const t = 1_000_000;
  for (let i = 0; i < 60; i++) assert.equal(limiter.take('k', t).allowed, true, `request ${i}`);
  const refused = limiter.take('k', t);
  assert.equal(refused.allowed, false);
  assert.equal(refused.allowed === false && refused.retryAfterSec, 1);
});

test('tokens refill continuously at perMin/60 per second', () => {
  const limiter = createRateLimiter({ perMin: 6 });
  const t = 0;
  for (let i = 0; i < 6; i++) limiter.take('k', t);
  const d = limiter.take('k', t);
  assert.equal(d.allowed === false && d.retryAfterSec, 10);
  assert.equal(limiter.take('k', t + 9_999).allowed, false);
  // Refused requests cost nothing: by t+20 s two tokens have accrued.
  assert.equal(limiter.take('k', t + 20_000).allowed, true);
  assert.equal(limiter.take('k', t + 20_000).allowed, true);
  assert.equal(limiter.take('k', t + 20_000).allowed, false);
});

test('keys have separate buckets', () => {
  const limiter = createRateLimiter({ perMin: 1 });
  assert.equal(limiter.take('a', 0).allowed, true);
  assert.equal(limiter.take('a', 0).allowed, false);
  assert.equal(limiter.take('b', 0).allowed, true);
});

test('memory stays bounded, and time linear, under a flood of distinct keys', () => {
  const limiter = createRateLimiter({ perMin: 10, maxKeys: 1000 });
  const start = performance.now();
  for (let i = 0; i < 200_000; i++) limiter.take(`ip:${i}`, i);
  assert.ok(limiter.size <= 1000, `size ${limiter.size}`);
  assert.ok(performance.now() - start < 2000, 'sweeps are amortised');
});

test('a refused request does not consume a token', () => {
  const limiter = createRateLimiter({ perMin: 60 });
  limiter.take('k', 0);
  for (let i = 0; i < 59; i++) limiter.take('k', 0);
  for (let i = 0; i < 100; i++) assert.equal(limiter.take('k', 0).allowed, false);
  assert.equal(limiter.take('k', 1000).allowed, true);
});
