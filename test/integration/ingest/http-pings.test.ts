import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import { after, before, describe, test } from 'node:test';
import pino from 'pino';
import { Registry } from 'prom-client';
import { createApp, createAuthenticator, generateApiKey, type StoredKey } from '../../../src/api/index.ts';
import { pingRoutes } from '../../../src/api/routes/pings.ts';
import { createHttpPingSource, createPingDecoder } from '../../../src/ingest/index.ts';
import { type PresenceEvent, presenceOptions } from '../../../src/presence/index.ts';
import { buildFence, buildPing, MIN } from './fixtures/build.ts';
import { type BuiltPipeline, buildPipeline, MODES } from './fixtures/pipelines.ts';

const logger = pino({ level: 'silent' });
const ingestKey = generateApiKey();
const viewerKey = generateApiKey();
const keys = new Map<string, StoredKey>([
  [ingestKey.keyId, { keyId: ingestKey.keyId, hash: ingestKey.hash, role: 'ingest', revoked: false }],
  [viewerKey.keyId, { keyId: viewerKey.keyId, hash: viewerKey.hash, role: 'viewer', revoked: false }],
]);
for (const mode of MODES) {
  describe(`pings over HTTP (${mode})`, () => {
    const events: PresenceEvent[] = [];
    let server: Server;
    let base: string;
    let pipeline: BuiltPipeline;

    before(async () => {
      const registry = new Registry();
      pipeline = await buildPipeline(mode, {
        fences: [buildFence('f1')],
        sink: { onEvent: (e) => events.push(e) },
        presence: presenceOptions({ dwellMs: [10 * MIN] }),
        registry,
        logger,
      });
      const source = createHttpPingSource({ decoder: createPingDecoder(), metrics: pipeline.metrics });
      await source.start(pipeline.handler);
      const app = createApp({
        logger,
        auth: createAuthenticator({ lookup: (id) => keys.get(id) }),
        routes: pingRoutes({ source }),
        metricsRegistry: registry,
      });
      server = app.listen(0, '127.0.0.1');
      await new Promise((r) => server.once('listening', r));
      const addr = server.address();
      base = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
    });
    after(async () => {
      await new Promise<void>((r) => server.close(() => r()));
      await pipeline.close();
    });

    const post = (body: string, type: string, token = ingestKey.token) =>
      fetch(`${base}/v1/pings`, {
        method: 'POST',
        body,
        headers: { 'content-type': type, authorization: `Bearer ${token}` },
      });

    test('NDJSON pings are processed and invalid lines are reported by line and reason', async () => {
      const t = Date.now() - 30 * MIN;
      const body = [
        JSON.stringify(buildPing({ sid: 'h1', ts: t })),
        '{broken',
        JSON.stringify({ ...buildPing({ sid: 'h2', ts: t }), acc: -1 }),
        JSON.stringify(buildPing({ sid: 'h1', ts: t + MIN, eastM: 900 })),
        '',
      ].join('\r\n');
      const res = await post(body, 'application/x-ndjson');
      assert.equal(res.status, 202);
      assert.deepEqual(await res.json(), {
        accepted: 2,
        rejectedCount: 2,
        rejected: [
          { index: 1, reason: 'invalid_json' },
          { index: 2, reason: 'acc_invalid' },
        ],
      });
      assert.deepEqual(
        events.filter((e) => e.sid === 'h1').map((e) => e.kind),
        ['enter', 'exit'],
      );
    });

    test('a JSON array of pings is accepted the same way', async () => {
      const t = Date.now() - 20 * MIN;
      const res = await post(
        JSON.stringify([buildPing({ sid: 'h3', ts: t }), { sid: 'h4' }]),
        'application/json',
      );
      assert.equal(res.status, 202);
      const body = (await res.json()) as { accepted: number; rejected: unknown[] };
      assert.equal(body.accepted, 1);
      assert.deepEqual(body.rejected, [{ index: 1, reason: 'lat_missing' }]);
      assert.ok(events.some((e) => e.sid === 'h3' && e.kind === 'enter'));
    });

    test('a JSON body that is not an array is a 400 problem', async () => {
      const res = await post('{"sid":"x"}', 'application/json');
      assert.equal(res.status, 400);
      assert.equal(((await res.json()) as { code: string }).code, 'BODY_MALFORMED');
    });

    test('keys without the ingest role cannot post pings', async () => {
      const res = await post('[]', 'application/json', viewerKey.token);
      assert.equal(res.status, 403);
    });

    test('another content type is refused with 415', async () => {
      const res = await post('sid,lat', 'text/csv');
      assert.equal(res.status, 415);
    });
  });
}
