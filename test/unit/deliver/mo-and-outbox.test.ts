import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import pino from 'pino';
import { classifyMo, createMoAssembler } from '../../../src/deliver/mo.ts';
import { type OutboxIntent, openOutbox } from '../../../src/deliver/outbox.ts';
import { encodeSms } from '../../../src/deliver/segmentation.ts';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

test('STOP words in English, Ukrainian and Russian are opt-outs whatever the case and punctuation', () => {
  for (const t of ['STOP', 'stop!', ' Stop please', 'СТОП', 'стоп.', 'Відписатися', 'отписка']) {
    assert.equal(classifyMo(t).action, 'opt_out', t);
  }
  assert.equal(classifyMo('K7Q2').action, 'none');
  assert.equal(classifyMo('help').action, 'help');
  assert.equal(classifyMo('stopwatch').action, 'none');
});

test('concatenated MO parts arriving out of order are reassembled once complete', () => {
  const text = `${'Дякую, '.repeat(12)}😀 СТОП`;
  const enc = encodeSms(text, 99);
  const asm = createMoAssembler();
  assert.ok(enc.parts.length >= 2);
  const order = [...enc.parts.keys()].reverse();
  let out: string | undefined;
  for (const i of order) out = asm.add('380501112233', enc.parts[i], true, 8, 0) ?? out;
  assert.equal(out, text);
  assert.equal(asm.pending, 0);
});

function buildIntent(over: Partial<OutboxIntent> = {}): OutboxIntent {
  return {
    id: 'm1',
    key: 's1|c1|enter',
    sid: 's1',
    campaignId: 'c1',
    fenceId: 'f1',
    storeId: '',
    tenant: 't',
    senderId: 'Shop',
    parts: 1,
    encoding: 'GSM7',
    tsMs: Date.now(),
    ...over,
  };
}

test('after a restart, keys are remembered and intents without an outcome come back as recovered', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'outbox-'));
  dirs.push(dir);
  const logger = pino({ level: 'silent' });
  const a = await openOutbox({ dir, logger });
  await a.intend(buildIntent({ id: 'm1', key: 'k1' }));
  await a.intend(buildIntent({ id: 'm2', key: 'k2' }));
  a.settle('m1', 'submitted');
  await a.close();
  const b = await openOutbox({ dir, logger });
  assert.equal(b.has('k1'), true);
  assert.equal(b.has('k2'), true);
  assert.deepEqual(
    b.recovered.map((i) => i.id),
    ['m2'],
  );
  await assert.rejects(b.intend(buildIntent({ id: 'm3', key: 'k1' })), { code: 'VERSION_CONFLICT' });
  await b.close();
  const c = await openOutbox({ dir, logger });
  assert.equal(c.recovered.length, 0, 'recovered intents are compacted into keys');
  assert.equal(c.has('k2'), true);
  await c.close();
});

test('a directory file in CSV or NDJSON maps both ways, and a bad line names its number only', async () => {
  const { writeFile } = await import('node:fs/promises');
  const { loadDirectoryFile } = await import('../../../src/deliver/directory.ts');
  const dir = await mkdtemp(join(tmpdir(), 'directory-'));
  dirs.push(dir);
  const csv = join(dir, 'd.csv');
  await writeFile(csv, 'sid,msisdn\nsid-1,+380501234567\n{"sid":"sid-2","msisdn":"380501234568"}\n');
  const d = await loadDirectoryFile(csv);
  assert.equal(d.lookup('sid-1'), '380501234567');
  assert.equal(d.reverse('+380501234568'), 'sid-2');
  assert.equal(d.size, 2);
  const bad = join(dir, 'bad.csv');
  await writeFile(bad, 'sid-1,380501234567\nsid-2,not-a-number-0501\n');
  await assert.rejects(
    loadDirectoryFile(bad),
    (err: Error) => /line 2/.test(err.message) && !/0501/.test(err.message),
  );
});

test('a journal past its size limit is compacted in place and still knows every key and open intent', async () => {
  const { stat } = await import('node:fs/promises');
  const dir = await mkdtemp(join(tmpdir(), 'outbox-'));
  dirs.push(dir);
  const logger = pino({ level: 'silent' });
  const a = await openOutbox({ dir, logger, maxBytes: 4096 });
  for (let i = 0; i < 200; i++) {
    await a.intend(buildIntent({ id: `m${i}`, key: `k${i}` }));
    if (i !== 7) a.settle(`m${i}`, 'submitted');
  }
  await a.close();
  const size = (await stat(join(dir, 'outbox.jsonl'))).size;
  assert.ok(size < 200 * 250, `journal is ${size} bytes`);
  const b = await openOutbox({ dir, logger });
  for (let i = 0; i < 200; i++) assert.equal(b.has(`k${i}`), true, `k${i}`);
  assert.deepEqual(
    b.recovered.map((x) => x.id),
    ['m7'],
  );
  await b.close();
});

test('a released intent (never written at shutdown) frees its key for a later run', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'outbox-'));
  dirs.push(dir);
  const logger = pino({ level: 'silent' });
  const a = await openOutbox({ dir, logger });
  await a.intend(buildIntent({ id: 'm1', key: 'k1' }));
  await a.intend(buildIntent({ id: 'm2', key: 'k2' }));
  a.release('m1', 'k1');
  assert.equal(a.has('k1'), false);
  await a.close();
  const b = await openOutbox({ dir, logger });
  assert.equal(b.has('k1'), false);
  assert.equal(b.has('k2'), true);
  assert.deepEqual(
    b.recovered.map((x) => x.id),
    ['m2'],
  );
  await b.close();
});
