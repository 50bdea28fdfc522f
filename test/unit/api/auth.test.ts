import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  BOOTSTRAP_KEY_ID,
  bearerToken,
  createAuthenticator,
  generateApiKey,
  hashApiKey,
  type StoredKey,
} from '../../../src/api/index.ts';

function buildStoredKey(overrides: Partial<StoredKey> = {}): { token: string; key: StoredKey } {
  const { keyId, token, hash } = generateApiKey();
  return { token, key: { keyId, hash, role: 'retailer', tenant: 'acme', revoked: false, ...overrides } };
}

test('generated keys are distinct, well-formed and carry 256 random bits', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 1000; i++) {
    const k = generateApiKey();
    assert.match(k.token, /^gt_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    assert.ok(k.token.includes(k.keyId));
    assert.equal(k.hash, hashApiKey(k.token));
    assert.equal(k.hash.length, 64);
    seen.add(k.token);
  }
  assert.equal(seen.size, 1000);
});

test('a stored key authenticates to its role and tenant; revoked or altered tokens do not', () => {
  const { token, key } = buildStoredKey();
  const revoked = buildStoredKey({ revoked: true });
  const keys = new Map([key, revoked.key].map((k) => [k.keyId, k]));
  const auth = createAuthenticator({ lookup: (id) => keys.get(id) });
  assert.deepEqual(auth.authenticate(token), { keyId: key.keyId, role: 'retailer', tenant: 'acme' });
  assert.equal(auth.authenticate(revoked.token), undefined);
  const last = token.at(-1) === 'A' ? 'B' : 'A';
  assert.equal(auth.authenticate(token.slice(0, -1) + last), undefined);
  assert.equal(auth.authenticate(`${token}x`), undefined);
  assert.equal(auth.authenticate(''), undefined);
  assert.equal(auth.authenticate('x'.repeat(10_000)), undefined);
});

test('the bootstrap admin key authenticates as admin; without one configured nothing does', () => {
  const auth = createAuthenticator({ adminKey: 'bootstrap-secret-0123456789', lookup: () => undefined });
  assert.deepEqual(auth.authenticate('bootstrap-secret-0123456789'), {
    keyId: BOOTSTRAP_KEY_ID,
    role: 'admin',
  });
  assert.equal(auth.authenticate('bootstrap-secret-012345678'), undefined);
  const none = createAuthenticator({ lookup: () => undefined });
  assert.equal(none.authenticate(''), undefined);
  assert.equal(none.authenticate('bootstrap-secret-0123456789'), undefined);
});

test('operator keys carry no tenant', () => {
  const { token, key } = buildStoredKey({ role: 'analyst', tenant: undefined });
  const auth = createAuthenticator({ lookup: (id) => (id === key.keyId ? key : undefined) });
  assert.deepEqual(auth.authenticate(token), { keyId: key.keyId, role: 'analyst' });
});

test('only a well-formed Bearer header yields a token', () => {
  assert.equal(bearerToken('Bearer abc'), 'abc');
  assert.equal(bearerToken('bearer   abc  '), 'abc');
  assert.equal(bearerToken(undefined), undefined);
  assert.equal(bearerToken('Basic abc'), undefined);
  assert.equal(bearerToken('Bearer'), undefined);
  assert.equal(bearerToken('Bearer a b'), undefined);
  assert.equal(bearerToken('Bearerabc'), undefined);
});
