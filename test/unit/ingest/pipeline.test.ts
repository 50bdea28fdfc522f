import assert from 'node:assert/strict';
import { test } from 'node:test';
import pino from 'pino';
import { Registry } from 'prom-client';
import { createMatcher, destination, type Fence } from '../../../src/geo/index.ts';
import { createPingPipeline, type Ping } from '../../../src/ingest/index.ts';
import { type PresenceEvent, presenceOptions } from '../../../src/presence/index.ts';

const CENTRE: [number, number] = [30.5234, 50.4501];
const T0 = Date.UTC(2026, 10, 23, 10, 0, 0);

function buildFence(id = 'f1'): Fence {
  return {
    kind: 'circle',
    center: CENTRE,
    radiusM: 100,
    bbox: [CENTRE[0] - 0.002, CENTRE[1] - 0.001, CENTRE[0] + 0.002, CENTRE[1] + 0.001],
    props: {
      id,
      tenant: 'acme',
      name: id,
      storeId: 's1',
      address: '',
      tags: [],
      maxAccuracyM: 500,
      timeZone: 'Europe/Kyiv',
    },
  };
}

function buildPing(over: Partial<Ping> & { eastM?: number } = {}): Ping {
  const { eastM = 0, ...rest } = over;
  const [lon, lat] = destination(CENTRE[0], CENTRE[1], eastM, 90);
  return { sid: 'a', lon, lat, ts: T0, acc: 10, src: 'gps', ...rest };
}

function setup(write: (table: string, row: object) => void | Promise<void>, drain?: () => Promise<void>) {
  const events: PresenceEvent[] = [];
  const pipeline = createPingPipeline({
    matcher: createMatcher({ fences: [buildFence()] }),
    sink: { onEvent: (e) => events.push(e), drain },
    presence: presenceOptions(),
    writer: { write },
    registry: new Registry(),
    logger: pino({ level: 'silent' }),
  });
  return { pipeline, events };
}

test('footfall rows go to the writer once per subscriber, fence and hour', () => {
  const rows: Array<[string, object]> = [];
  const { pipeline } = setup((table, row) => void rows.push([table, row]));
  const r = pipeline.handle([buildPing(), buildPing({ ts: T0 + 1000 }), buildPing({ sid: 'b' })], 0);
  assert.equal(r, undefined, 'no back-pressure: nothing to await');
  assert.deepEqual(rows, [
    ['footfall_visits', { ts: T0, sid: 'a', tenant: 'acme', fence_id: 'f1', store_id: 's1' }],
    ['footfall_visits', { ts: T0, sid: 'b', tenant: 'acme', fence_id: 'f1', store_id: 's1' }],
  ]);
});

test('writer back-pressure makes handle return a promise that flush also waits for', async () => {
  let release!: () => void;
  const gate = new Promise<void>((r) => {
    release = r;
  });
  const { pipeline } = setup(() => gate);
  const waiting = pipeline.handle([buildPing()], 0);
  assert.ok(waiting instanceof Promise, 'the source must pause');
  let flushed = false;
  const f = pipeline.flush().then(() => {
    flushed = true;
  });
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(flushed, false, 'flush waits for the writer');
  release();
  await f;
  assert.equal(flushed, true);
});

test('flush waits for the decision sink to drain', async () => {
  let drained = false;
  const { pipeline } = setup(
    () => undefined,
    async () => {
      await new Promise((r) => setTimeout(r, 10));
      drained = true;
    },
  );
  pipeline.handle([buildPing()], 0);
  await pipeline.flush();
  assert.equal(drained, true);
});

test('a ping whose processing throws is skipped and reported, the rest of the batch goes on', () => {
  const failed: number[] = [];
  const { pipeline, events } = setup(() => undefined);
  const poison = { ...buildPing({ sid: 'p' }) } as Ping;
  Object.defineProperty(poison, 'lon', {
    get() {
      throw new Error('boom');
    },
  });
  pipeline.handle([poison, buildPing({ sid: 'ok' })], 0, (i) => failed.push(i));
  assert.deepEqual(failed, [0]);
  assert.deepEqual(
    events.map((e) => e.sid),
    ['ok'],
  );
  assert.equal(pipeline.metrics.invalidCounts().processing_failed, 1);
});

test('releasing a partition drops its presence state', () => {
  const { pipeline } = setup(() => undefined);
  pipeline.handle([buildPing()], 3);
  assert.equal(pipeline.tracker(3)?.size, 1);
  pipeline.release([3]);
  assert.equal(pipeline.tracker(3), undefined);
  assert.equal(pipeline.stats().partitions, 0);
});

test('replayed pings rebuild state without producing events', () => {
  const { pipeline, events } = setup(() => undefined);
  pipeline.handle([buildPing()], 0, undefined, true);
  assert.equal(events.length, 0);
  pipeline.handle([buildPing({ ts: T0 + 60_000, eastM: 900 })], 0);
  assert.deepEqual(
    events.map((e) => e.kind),
    ['exit'],
  );
});
