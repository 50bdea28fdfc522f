import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createKeyRing, hashApiKey, resolveAdminKey } from '../../../src/api/index.ts';
import { type Harness, logger, startHarness } from './fixture.ts';

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(async () => {
  await h?.close();
});

test('an admin creates a retailer key: the token is answered once and only its hash is stored', async () => {
  const r = await h.call('POST', '/v1/keys', {
    as: 'admin',
    json: { name: 'acme POS', role: 'retailer', tenant: 'acme' },
  });
  assert.equal(r.status, 201, r.text);
  const { token, key } = r.json;
  assert.match(token, /^gt_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
  assert.equal(key.role, 'retailer');
  assert.equal(key.tenant, 'acme');
  assert.equal(key.revoked, false);
  assert.equal(key.createdBy, 'bootstrap-admin');

  const rows = await h.store.query<{ body: string }>(
    `SELECT body FROM ${h.store.database}.api_keys WHERE id = {id:String}`,
    {
      id: key.keyId,
    },
  );
  assert.equal(rows.length, 1);
  assert.ok(!rows[0].body.includes(token), 'token stored');
  assert.equal(JSON.parse(rows[0].body).hash, hashApiKey(token));

  const one = await h.call('GET', `/v1/keys/${key.keyId}`, { as: 'admin' });
  const list = await h.call('GET', '/v1/keys', { as: 'admin' });
  for (const text of [one.text, list.text]) {
    assert.ok(!text.includes(token) && !text.includes(hashApiKey(token)), 'token or hash answered');
  }
  assert.ok(list.json.items.some((k: { keyId: string }) => k.keyId === key.keyId));

  // The new key works at once, as a retailer of its tenant.
  const use = await h.call('GET', '/v1/geofences', { headers: { authorization: `Bearer ${token}` } });
  assert.equal(use.status, 200);
});

test('key rules: a retailer key needs a tenant, other roles must not have one, only admins manage keys', async () => {
  const noTenant = await h.call('POST', '/v1/keys', { as: 'admin', json: { name: 'x', role: 'retailer' } });
  assert.equal(noTenant.status, 400);
  assert.equal(noTenant.json.errors[0].path, 'tenant');
  const tenantOnViewer = await h.call('POST', '/v1/keys', {
    as: 'admin',
    json: { name: 'x', role: 'viewer', tenant: 'acme' },
  });
  assert.equal(tenantOnViewer.status, 400);
  const byAnalyst = await h.call('POST', '/v1/keys', { as: 'analyst', json: { name: 'x', role: 'admin' } });
  assert.equal(byAnalyst.status, 403);
  const byRetailer = await h.call('POST', '/v1/keys', {
    as: 'retailerA',
    json: { name: 'x', role: 'admin' },
  });
  assert.equal(byRetailer.status, 403);
});

test('a revoked key stops working at once here, and on another instance after its refresh', async () => {
  const { token, key } = (
    await h.call('POST', '/v1/keys', { as: 'admin', json: { name: 'temp', role: 'analyst' } })
  ).json;
  // A second key ring over the same store stands in for another instance.
  const other = createKeyRing({ store: h.store, logger });
  await other.refresh();
  assert.equal((await other.authenticator.authenticate(token))?.keyId, key.keyId);

  const revoke = await h.call('DELETE', `/v1/keys/${key.keyId}`, { as: 'admin' });
  assert.equal(revoke.status, 200);
  assert.equal(revoke.json.revoked, true);
  assert.equal(
    (await h.call('GET', '/v1/geofences', { headers: { authorization: `Bearer ${token}` } })).status,
    401,
  );
  await other.refresh();
  assert.equal(await other.authenticator.authenticate(token), undefined);

  const again = await h.call('DELETE', `/v1/keys/${key.keyId}`, { as: 'admin' });
  assert.equal(again.status, 404);
  const listed = await h.call('GET', '/v1/keys?includeRevoked=true&limit=1000', { as: 'admin' });
  assert.ok(
    listed.json.items.some((k: { keyId: string; revoked: boolean }) => k.keyId === key.keyId && k.revoked),
  );
  const active = await h.call('GET', '/v1/keys?limit=1000', { as: 'admin' });
  assert.ok(!active.json.items.some((k: { keyId: string }) => k.keyId === key.keyId));
});

test('key changes are audited without exposing hashes', async () => {
  const audit = await h.call('GET', '/v1/audit?entity=api_keys&limit=1000', { as: 'admin' });
  assert.equal(audit.status, 200);
  assert.ok(audit.json.items.some((i: { action: string }) => i.action === 'create'));
  assert.ok(audit.json.items.some((i: { action: string }) => i.action === 'delete'));
  assert.ok(audit.json.items.every((i: { body?: unknown }) => i.body === undefined));
});

test('a token that only looks like a key, or a stored key with a wrong secret, is refused', async () => {
  const { key } = (await h.call('POST', '/v1/keys', { as: 'admin', json: { name: 'y', role: 'analyst' } }))
    .json;
  const forged = `gt_${key.keyId}_${'A'.repeat(43)}`;
  assert.equal(await h.keys.authenticator.authenticate(forged), undefined);
  assert.equal(await h.keys.authenticator.authenticate(`gt_${'0'.repeat(16)}_${'A'.repeat(43)}`), undefined);
});

test('without ADMIN_API_KEY a bootstrap key is generated once into DATA_DIR (0600) and reused', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'geotrigger-admin-'));
  try {
    const first = await resolveAdminKey({ dataDir: dir, logger });
    const second = await resolveAdminKey({ dataDir: dir, logger });
    assert.equal(first, second);
    assert.ok(first.length >= 40);
    const file = join(dir, 'admin-api-key');
    assert.equal((await readFile(file, 'utf8')).trim(), first);
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    assert.equal(
      await resolveAdminKey({ configured: 'configured-admin-key-123', dataDir: dir, logger }),
      'configured-admin-key-123',
    );
    await assert.rejects(resolveAdminKey({ configured: 'short', dataDir: dir, logger }), /at least 16/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
