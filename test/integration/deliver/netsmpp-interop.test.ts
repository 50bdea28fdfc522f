import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import {
  createDirectory,
  createSmppSender,
  encodeSms,
  type Outbox,
  openOutbox,
  type Sender,
  smppAccount,
} from '../../../src/deliver/index.ts';
import { decodeUcs2, readConcatUdh } from '../../../src/deliver/segmentation.ts';
import { until } from './rig.ts';

// Perl Net::SMPP (Debian libnet-smpp-perl) as the SMSC: an implementation no one here wrote.
const SCRIPT = fileURLToPath(new URL('../../helpers/netsmpp-smsc.pl', import.meta.url));
let smsc: ChildProcess;
const lines: string[][] = [];
let sender: Sender;
let outbox: Outbox;
let dir: string;
const rows: { table: string; row: Record<string, any> }[] = [];
const optOuts: { sid: string; keyword: string }[] = [];

before(async () => {
  smsc = spawn('perl', [SCRIPT], { stdio: ['pipe', 'pipe', 'inherit'] });
  let buf = '';
  smsc.stdout!.setEncoding('utf8');
  smsc.stdout!.on('data', (d: string) => {
    buf += d;
    let i = buf.indexOf('\n');
    while (i >= 0) {
      lines.push(buf.slice(0, i).split('\t'));
      buf = buf.slice(i + 1);
      i = buf.indexOf('\n');
    }
  });
  await until(() => lines.some((l) => l[0] === 'LISTENING'), 10_000, 'Net::SMPP listening');
  const port = Number(lines.find((l) => l[0] === 'LISTENING')![1]);
  dir = await mkdtemp(join(tmpdir(), 'netsmpp-'));
  const logger = pino({ level: 'silent' });
  outbox = await openOutbox({ dir, logger });
  sender = createSmppSender({
    accounts: [
      smppAccount({
        port,
        systemId: 'geotrigger',
        password: 'pw',
        tps: 0,
        window: 5,
        responseTimeoutMs: 3000,
      }),
    ],
    logger,
    directory: createDirectory([
      ['sid-a', '380501111111'],
      ['sid-b', '380502222222'],
    ]),
    outbox,
    sink: { write: (table, row) => rows.push({ table, row }) },
    mo: { onOptOut: (sid, keyword) => optOuts.push({ sid, keyword }) },
  });
  await until(() => sender.status().accounts[0].bound === 1, 10_000, 'bound to Net::SMPP');
});

after(async () => {
  await sender?.close();
  await outbox?.close();
  smsc?.kill();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const submits = () => lines.filter((l) => l[0] === 'SUBMIT');

test('the bind is a transceiver with our system_id', () => {
  assert.deepEqual(
    lines.find((l) => l[0] === 'BOUND'),
    ['BOUND', 'bind_transceiver', 'geotrigger'],
  );
});

test('a single Ukrainian message arrives as one UCS-2 part and its receipt marks it delivered', async () => {
  const text = 'Знижка 15% сьогодні! Код K7Q2';
  const res = await sender.send({
    idempotencyKey: 'a|c1|enter',
    sid: 'sid-a',
    campaignId: 'c1',
    fenceId: 'f1',
    senderId: 'Aroma',
    text,
  });
  assert.equal(res.status, 'submitted');
  const s = submits().at(-1)!;
  assert.equal(s[2], '8', 'data_coding UCS-2');
  assert.equal(s[3], '0', 'no UDH');
  assert.deepEqual([s[4], s[5], s[6], s[7]], ['5', '0', 'Aroma', '380501111111']);
  assert.equal(s[8], '1', 'receipt requested');
  assert.equal(decodeUcs2(Buffer.from(s[10], 'hex')), text);
  await until(
    () =>
      rows.some(
        (r) => r.table === 'messages' && r.row.message_id === res.messageId && r.row.status === 'delivered',
      ),
    5000,
    'delivered (decimal submit id matched to hex receipt id)',
  );
});

test('a long Russian message arrives as concatenated UCS-2 parts that reassemble to the text', async () => {
  const text =
    'Скидка 20% на кофе в магазине рядом с вами — только сегодня, покажите код K7Q2 на кассе. '.repeat(2);
  const before = submits().length;
  const res = await sender.send({
    idempotencyKey: 'b|c1|enter',
    sid: 'sid-b',
    campaignId: 'c1',
    fenceId: 'f1',
    senderId: 'Aroma',
    text,
  });
  assert.equal(res.status, 'submitted');
  assert.equal(res.parts, encodeSms(text, 0).parts.length);
  const parts = submits().slice(before);
  assert.equal(parts.length, res.parts);
  const bodies = parts.map((p) => {
    assert.equal(p[2], '8');
    assert.equal(Number(p[3]) & 0x40, 0x40, 'UDH indicator');
    const sm = Buffer.from(p[10], 'hex');
    const c = readConcatUdh(sm)!;
    assert.equal(c.total, res.parts);
    return { seq: c.seq, ref: c.ref, text: decodeUcs2(sm.subarray(c.headerLength)) };
  });
  assert.equal(new Set(bodies.map((b) => b.ref)).size, 1, 'one reference for all parts');
  assert.equal(
    bodies
      .sort((x, y) => x.seq - y.seq)
      .map((b) => b.text)
      .join(''),
    text,
  );
  await until(
    () =>
      rows.some(
        (r) => r.table === 'messages' && r.row.message_id === res.messageId && r.row.status === 'delivered',
      ),
    5000,
    'every part delivered',
  );
});

test('an MO STOP from Net::SMPP is answered and reaches the consent callback', async () => {
  const before = lines.filter((l) => l[0] === 'RESP' && l[1] === 'deliver_sm_resp').length;
  smsc.stdin!.write(`MO\t380502222222\t7575\t0\t0\t${Buffer.from('STOP').toString('hex')}\n`);
  await until(() => optOuts.length === 1, 5000, 'opt-out');
  assert.deepEqual(optOuts[0], { sid: 'sid-b', keyword: 'STOP' });
  await until(
    () => lines.filter((l) => l[0] === 'RESP' && l[1] === 'deliver_sm_resp').length > before,
    5000,
    'deliver_sm_resp',
  );
  const resp = lines.filter((l) => l[0] === 'RESP' && l[1] === 'deliver_sm_resp').at(-1)!;
  assert.equal(resp[3], '0');
});
