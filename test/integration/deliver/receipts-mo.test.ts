import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import smpp from 'smpp';
import { createSmscSimulator } from '../../../src/deliver/index.ts';
import { bound, buildSms, PHONES, type Rig, startRig, until } from './rig.ts';

const rigs: Rig[] = [];
after(async () => {
  for (const r of rigs) await r.close();
});
async function rig(...args: Parameters<typeof startRig>): Promise<Rig> {
  const r = await startRig(...args);
  rigs.push(r);
  await bound(r);
  return r;
}
const events = (r: Rig, name: string) =>
  r.rows.filter((x) => x.table === 'message_events' && x.row.event === name);
const finalRows = (r: Rig, id: string) =>
  r.rows.filter((x) => x.table === 'messages' && x.row.message_id === id);

test('GSM text goes as data_coding 0 from an alphanumeric sender with TON 5 / NPI 0 and asks for a receipt', async () => {
  const r = await rig();
  const res = await r.sender.send(buildSms(1, { text: 'Hi {name} €5 off [today]' }));
  assert.equal(res.status, 'submitted');
  const s = r.sim.stats.submits[0];
  assert.equal(s.dataCoding, 0);
  assert.equal(s.sourceTon, 5);
  assert.equal(s.sourceNpi, 0);
  assert.equal(s.registeredDelivery, 1);
  assert.equal(s.destination, PHONES[1][1]);
  assert.equal(
    s.shortMessage.length,
    'Hi {name} €5 off [today]'.length + 5,
    'extension characters are escaped',
  );
});

test('receipts are correlated and the message ends delivered', async () => {
  const r = await rig();
  const res = await r.sender.send(buildSms(1, { text: 'Привіт! '.repeat(12) }));
  assert.equal(res.parts, 2);
  await until(
    () => finalRows(r, res.messageId).some((x) => x.row.status === 'delivered'),
    3000,
    'delivered row',
  );
  assert.equal(events(r, 'delivered').length, 2);
});

test('a receipt that arrives before its submit_sm_resp is parked and matched', async () => {
  const r = await rig({ faults: { receiptBeforeResp: true }, latencyMs: 20 });
  const res = await r.sender.send(buildSms(1));
  assert.equal(res.status, 'submitted');
  await until(() => events(r, 'delivered').length === 1, 3000, 'delivered event');
  const rows = finalRows(r, res.messageId);
  assert.equal(rows.at(-1)?.row.status, 'delivered', 'the final row is not overwritten by the submit row');
});

test('duplicate and late intermediate receipts never move a final state backwards', async () => {
  const r = await rig({ faults: { duplicateReceipts: true } });
  const res = await r.sender.send(buildSms(1));
  await until(() => r.sim.stats.receiptsSent >= 3, 3000, 'receipts');
  await until(() => finalRows(r, res.messageId).some((x) => x.row.status === 'delivered'), 3000, 'delivered');
  await new Promise((x) => setTimeout(x, 100));
  assert.equal(events(r, 'delivered').length, 1);
  assert.equal(events(r, 'enroute').length, 0);
  assert.equal(finalRows(r, res.messageId).at(-1)?.row.status, 'delivered');
});

test('receipts quoting the id in decimal match submit responses given in hex', async () => {
  const r = await rig({ receiptIdFormat: 'decimal', outcomeMix: { delivered: 0, undeliverable: 1 } });
  const res = await r.sender.send(buildSms(1));
  await until(() => finalRows(r, res.messageId).some((x) => x.row.status === 'failed'), 3000, 'failed row');
  assert.equal(events(r, 'failed').length, 1);
});

test('consent withdrawn while the message waited is honoured right before submit', async () => {
  let consent = true;
  const r = await rig({}, { tps: 5 }, { consentCheck: () => consent });
  const first = r.sender.send(buildSms(1));
  const others = [2, 3, 4].map((i) => r.sender.send(buildSms(i)));
  assert.equal((await first).status, 'submitted');
  consent = false;
  const results = await Promise.all(others);
  assert.ok(
    results.some((x) => x.status === 'blocked'),
    JSON.stringify(results.map((x) => x.status)),
  );
  assert.equal(r.sim.stats.received, 4 - results.filter((x) => x.status === 'blocked').length);
});

test('a sender ID limited to 5 parts/s is held to it while other senders are not', async () => {
  const r = await rig({}, { senderIdTps: { Slow: 5 } });
  const t0 = Date.now();
  const slow = Array.from({ length: 12 }, (_, i) => r.sender.send(buildSms(i, { senderId: 'Slow' })));
  const fast = Array.from({ length: 12 }, (_, i) => r.sender.send(buildSms(100 + i, { senderId: 'Fast' })));
  await Promise.all(fast);
  const fastMs = Date.now() - t0;
  await Promise.all(slow);
  const slowMs = Date.now() - t0;
  assert.ok(fastMs < 1000, `fast took ${fastMs} ms`);
  // 12 parts at 5/s with a burst of 2: at least (12 - 2) / 5 = 2 s.
  assert.ok(slowMs >= 1900, `slow took ${slowMs} ms`);
});

test('an MO STOP reaches the consent callback with the subscriber pseudonym; a concatenated reply is reassembled', async () => {
  const r = await rig();
  await r.sim.injectMo({ from: PHONES[7][1], to: '7575', text: 'СТОП' });
  await until(() => r.optOuts.length === 1, 3000, 'opt-out');
  assert.deepEqual(r.optOuts[0], { sid: 'sid-7', keyword: 'СТОП' });
  const long = `Код K7Q2 ${'дуже дякую '.repeat(10)}😀`;
  await r.sim.injectMo({ from: PHONES[8][1], to: '7575', text: long });
  await until(() => r.replies.length === 1, 3000, 'reply');
  assert.equal(r.replies[0], long);
  const mo = r.rows.filter((x) => x.table === 'mo_messages');
  assert.equal(mo.length, 2);
  assert.equal(mo[0].row.action, 'opt_out');
  assert.ok(!('text' in mo[0].row), 'MO text is never stored');
});

test('the same idempotency key is sent once even when handed over twice concurrently', async () => {
  const r = await rig();
  const [a, b] = await Promise.all([r.sender.send(buildSms(1)), r.sender.send(buildSms(1))]);
  assert.deepEqual([a.status, b.status].sort(), ['duplicate', 'submitted']);
  assert.equal(r.sim.stats.received, 1);
});

test('a transmitter plus receiver bind submits on one connection and takes receipts on the other', async () => {
  const r = await rig({}, { bindType: 'transmitter+receiver' });
  assert.equal(r.sim.stats.binds, 2);
  const res = await r.sender.send(buildSms(3));
  assert.equal(res.status, 'submitted');
  await until(() => finalRows(r, res.messageId).some((x) => x.row.status === 'delivered'), 3000, 'delivered');
});

test('the metrics registry counts submitted parts and bound binds', async () => {
  const { Registry } = await import('prom-client');
  const registry = new Registry();
  const r = await rig({}, { binds: 2 }, { metrics: registry });
  await r.sender.send(buildSms(1, { text: 'Ж'.repeat(100) }));
  const text = await registry.metrics();
  assert.match(text, /geotrigger_sms_parts_total\{outcome="submitted"\} 2/);
  assert.match(text, /geotrigger_smpp_binds_bound 2/);
});

test('the simulator offers a receipt left unanswered when its connection closed again after the rebind, like an SMSC', async () => {
  const sim = await createSmscSimulator({ receiptDelayMs: 5, recordSubmits: true, receiptRetryMs: 50 });
  // The deliver_sm listener is set before binding: a redelivery may follow the bind_resp at once.
  const connect = async (onReceipt: (session: any, pdu: any) => void) => {
    const session = smpp.connect({ host: '127.0.0.1', port: sim.port });
    session.on('deliver_sm', (pdu: any) => onReceipt(session, pdu));
    await new Promise<void>((resolve) => session.on('connect', () => resolve()));
    await new Promise<void>((resolve) =>
      session.bind_transceiver({ system_id: 'esme', password: '' }, () => resolve()),
    );
    return session;
  };
  try {
    let first: any;
    const unanswered = new Promise<any>((resolve) => {
      void connect((_s, pdu) => resolve(pdu)).then((s) => {
        first = s;
        s.submit_sm({ destination_addr: '380501234567', short_message: 'hi', registered_delivery: 1 });
      });
    });
    const receipt = await unanswered;
    first.destroy();
    await until(() => sim.stats.receiptsPending === 1, 2000, 'the drop');
    let second: any;
    const again = await new Promise<any>((resolve) => {
      void connect((s, pdu) => {
        s.send(pdu.response());
        resolve(pdu);
      }).then((s) => {
        second = s;
      });
    });
    assert.equal(again.receipted_message_id, receipt.receipted_message_id);
    await until(() => sim.stats.receiptsAcked === 1, 2000, 'the answer');
    assert.equal(sim.stats.receiptsRedelivered, 1);
    assert.equal(sim.stats.receiptsPending, 0);
    assert.deepEqual(
      sim.stats.receipts.map((r) => r.acked),
      [true],
    );
    second?.destroy();
  } finally {
    await sim.stop();
  }
});
