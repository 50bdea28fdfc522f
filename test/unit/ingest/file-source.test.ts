import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import pino from 'pino';
import { Registry } from 'prom-client';
import {
  createFilePingSource,
  createIngestMetrics,
  createPingDecoder,
  type Ping,
  type PingHandler,
} from '../../../src/ingest/index.ts';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pings-'));
});
after(() => rm(dir, { recursive: true, force: true }));

function collector() {
  const got: Ping[] = [];
  const handler: PingHandler = {
    handle: (pings) => void got.push(...pings),
    flush: async () => {},
    release: () => {},
  };
  return { got, handler };
}

async function writePings(name: string, stepMs: number, n: number, extra: string[] = []) {
  const t = Date.now() - 60_000;
  const lines = Array.from({ length: n }, (_, i) =>
    JSON.stringify({ sid: `s${i}`, lat: 50, lon: 30, ts: t + i * stepMs, acc: 10, src: 'gps' }),
  );
  const path = join(dir, name);
  await writeFile(path, [...lines, ...extra].join('\n'));
  return path;
}

test('a file replays every valid line in order and counts invalid ones', async () => {
  const path = await writePings('a.ndjson', 1_000, 50, ['not json', '{"sid":"x"}']);
  const metrics = createIngestMetrics(new Registry());
  const { got, handler } = collector();
  const src = createFilePingSource({
    path,
    speed: 0,
    decoder: createPingDecoder(),
    metrics,
    logger: pino({ level: 'silent' }),
    batchSize: 7,
  });
  await src.start(handler);
  assert.deepEqual(await src.done, { lines: 52, pings: 50, invalid: 2 });
  assert.deepEqual(
    got.map((p) => p.sid),
    Array.from({ length: 50 }, (_, i) => `s${i}`),
  );
  assert.equal(metrics.invalidCounts().invalid_json, 1);
  assert.equal(metrics.invalidCounts().lat_missing, 1);
});

test('the speed factor stretches event-time gaps into wall-clock time', async () => {
  // 10 pings 1 s apart at 20× speed: about 450 ms of wall time.
  const path = await writePings('b.ndjson', 1_000, 10);
  const { got, handler } = collector();
  const metrics = createIngestMetrics(new Registry());
  const src = createFilePingSource({
    path,
    speed: 20,
    decoder: createPingDecoder(),
    metrics,
    logger: pino({ level: 'silent' }),
  });
  const t = performance.now();
  await src.start(handler);
  await src.done;
  const took = performance.now() - t;
  assert.equal(got.length, 10);
  // At least the stretched gaps (~450 ms); well under the 9 s that ignoring the speed would take. The
  // upper bound is loose on purpose: a busy CI machine can delay timers by a second or more.
  assert.ok(took >= 400 && took < 5_000, `took ${took.toFixed(0)} ms`);
});
