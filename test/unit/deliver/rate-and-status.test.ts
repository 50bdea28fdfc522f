import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseSmppAccounts } from '../../../src/deliver/account-config.ts';
import { classifyStatus } from '../../../src/deliver/command-status.ts';
import { createPartQueue, type OutPart } from '../../../src/deliver/part-queue.ts';
import { createTokenBucket } from '../../../src/deliver/token-bucket.ts';

test('a token bucket never grants more than rate·T + burst over any window', () => {
  const b = createTokenBucket(50, 2, 0);
  let granted = 0;
  for (let t = 0; t <= 10_000; t++) while (b.take(t) === 0) granted++;
  assert.ok(granted <= 50 * 10 + 2, `granted ${granted}`);
  assert.ok(granted >= 50 * 10, `granted ${granted}`);
});

test('an empty bucket says how long until the next token', () => {
  const b = createTokenBucket(10, 1, 0);
  assert.equal(b.take(0), 0);
  assert.equal(b.take(0), 100);
  assert.equal(b.take(100), 0);
});

test('throttling and queue-full statuses back off, bind errors rebind, bad addresses drop', () => {
  assert.equal(classifyStatus(0x58).action, 'throttle');
  assert.equal(classifyStatus(0x14).action, 'throttle');
  assert.equal(classifyStatus(0x04).action, 'rebind');
  assert.equal(classifyStatus(0x0b).action, 'drop');
  assert.equal(classifyStatus(0x08).action, 'retry');
  assert.equal(classifyStatus(0x12345).action, 'drop');
});

test('a sender ID out of tokens waits while other sender IDs behind it go first', () => {
  const q = createPartQueue({ Slow: 1 });
  const part = (senderId: string): OutPart =>
    ({
      owner: {} as OutPart['owner'],
      index: 0,
      senderId,
      params: {},
      expiresAtMs: 1e15,
      retries: 0,
    }) as OutPart;
  q.pushBack([part('Slow'), part('Slow'), part('Slow'), part('Fast')]);
  const got: string[] = [];
  for (let i = 0; i < 4; i++) {
    const p = q.take(0);
    if (typeof p === 'object') got.push(p.senderId);
  }
  assert.deepEqual(got, ['Slow', 'Slow', 'Fast']);
  assert.equal(typeof q.take(0), 'number');
  assert.equal(q.length, 1);
});

test('SMPP_ACCOUNTS gets per-account defaults and rejects bad values with the path', () => {
  const [a] = parseSmppAccounts('[{"systemId":"geo","port":2775}]');
  assert.equal(a.binds, 1);
  assert.equal(a.validityMinutes, 120);
  assert.equal(a.bindType, 'transceiver');
  assert.throws(() => parseSmppAccounts('[{"systemId":"geo","tps":-1}]'), /SMPP_ACCOUNTS\.0\.tps/);
  assert.throws(() => parseSmppAccounts('not json'), { code: 'CONFIG_INVALID' });
  assert.throws(() => parseSmppAccounts('[]'), { code: 'CONFIG_INVALID' });
});
