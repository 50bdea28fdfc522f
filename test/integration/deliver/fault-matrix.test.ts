import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { bound, buildSms, type Rig, sleep, startRig, until } from './rig.ts';

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

test('a submit_sm that is never answered ends unknown after the response timeout and is not resent', async () => {
  const r = await rig({ faults: { noResponse: 1 } });
  const t0 = Date.now();
  const res = await r.sender.send(buildSms(1));
  assert.equal(res.status, 'unknown');
  assert.equal(res.errorCode, 'SMPP_TIMEOUT');
  assert.ok(Date.now() - t0 < 2000);
  await sleep(400);
  assert.equal(r.sim.stats.received, 1);
  assert.ok(r.rows.some((x) => x.table === 'messages' && x.row.status === 'unknown'));
});

test('a connection lost with 10 submits in flight marks those 10 unknown and sends the rest after reconnecting', async () => {
  const r = await rig({ faults: { dropAfterUnanswered: 10 } }, { window: 10 });
  const sends = Array.from({ length: 15 }, (_, i) => r.sender.send(buildSms(i)));
  await until(() => r.sim.stats.unanswered >= 10, 5000, 'ten unanswered');
  r.sim.setFaults({});
  const results = await Promise.all(sends);
  const byStatus = (s: string) => results.filter((x) => x.status === s).length;
  assert.equal(byStatus('unknown'), 10);
  assert.equal(byStatus('submitted'), 5);
  assert.equal(r.sim.stats.received, 15, 'nothing was resent');
  assert.equal(r.sim.stats.binds, 2);
});

test('a throttling storm is absorbed by backing off: every message goes exactly once', async () => {
  const r = await rig({ tps: 40, burst: 1 }, { window: 10 });
  const results = await Promise.all(Array.from({ length: 60 }, (_, i) => r.sender.send(buildSms(i))));
  assert.ok(results.every((x) => x.status === 'submitted'));
  assert.ok(r.sim.stats.throttled > 0, 'the simulator throttled');
  assert.equal(r.sim.stats.accepted, 60);
  const dests = r.sim.stats.submits.filter((s) => s.status === 0).map((s) => s.destination);
  assert.equal(new Set(dests).size, 60);
});

test('ESME_RMSGQFUL backs off and retries the same message', async () => {
  let seed = 42;
  const random = () => {
    seed = (seed * 16807) % 2147483647;
    return seed / 2147483647;
  };
  const r = await rig({ faults: { queueFull: 0.3 }, random });
  const results = await Promise.all(Array.from({ length: 30 }, (_, i) => r.sender.send(buildSms(i))));
  assert.ok(results.every((x) => x.status === 'submitted'));
  assert.ok(r.sim.stats.queueFull > 0);
  assert.equal(r.sim.stats.accepted, 30);
});

test('a generic_nack carrying the sequence fails the submit without waiting for the timeout', async () => {
  const r = await rig({ faults: { genericNack: 1 } }, { responseTimeoutMs: 5000 });
  const t0 = Date.now();
  const res = await r.sender.send(buildSms(1));
  assert.equal(res.status, 'failed');
  assert.equal(res.errorCode, 'ESME_RSYSERR');
  assert.ok(Date.now() - t0 < 2000, 'answered by the nack, not the timer');
  // ESME_RSYSERR is transient: retried a bounded number of times (it was never accepted).
  assert.equal(r.sim.stats.received, 4);
});

test('a generic_nack with sequence 0 cannot be matched: the submit ends unknown by its own timer', async () => {
  const r = await rig({ faults: { genericNackSeq0: 1 } });
  const res = await r.sender.send(buildSms(1));
  assert.equal(res.status, 'unknown');
  assert.equal(r.sim.stats.received, 1);
});

test('a half-open TCP connection is detected by enquire_link and the bind reconnects', async () => {
  const r = await rig({}, { enquireLinkSec: 1 });
  r.sim.setFaults({ halfOpen: true });
  const res = await r.sender.send(buildSms(1));
  assert.equal(res.status, 'unknown');
  r.sim.setFaults({});
  await until(() => r.sim.stats.binds >= 2, 5000, 'rebind after enquire_link timeout');
  await bound(r);
  assert.equal((await r.sender.send(buildSms(2))).status, 'submitted');
});

test('refused binds are retried with capped backoff until the SMSC accepts', async () => {
  const r = await startRig({ faults: { refuseBinds: 3 } });
  rigs.push(r);
  await bound(r);
  assert.equal(r.sim.stats.bindRefusals, 3);
  assert.equal((await r.sender.send(buildSms(1))).status, 'submitted');
});

test('a long message whose second part is rejected is reported failed and its first part is not resent', async () => {
  const r = await rig({ faults: { failPartSeq: 2, failStatus: 0x0b } });
  const res = await r.sender.send(buildSms(1, { text: 'Знижка 15% сьогодні у магазині поруч. '.repeat(4) }));
  assert.equal(res.status, 'failed');
  assert.equal(res.errorCode, 'ESME_RINVDSTADR');
  assert.notEqual(res.smscIds[0], '');
  assert.equal(res.smscIds[1], '');
  const seqs = r.sim.stats.submits.map((s) => s.shortMessage[5]);
  assert.equal(seqs.filter((s) => s === 1).length, 1);
  assert.equal(seqs.filter((s) => s === 2).length, 1);
});

test('an SMSC down for longer than the validity period: the message expires and is never submitted', async () => {
  const r = await startRig();
  rigs.push(r);
  await bound(r);
  const port = r.sim.port;
  await r.sim.stop();
  const res = await r.sender.send(buildSms(1, { validityMinutes: 0.02 }));
  assert.equal(res.status, 'expired');
  const { createSmscSimulator } = await import('../../../src/deliver/index.ts');
  const back = await createSmscSimulator({ port, recordSubmits: true });
  try {
    await until(() => back.stats.binds >= 1, 5000, 'rebind');
    await sleep(200);
    assert.equal(back.stats.received, 0);
  } finally {
    await back.stop();
  }
});

test('a malformed PDU body is answered and later responses keep flowing on the same connection', async () => {
  const r = await rig({ faults: { malformedBody: true } });
  assert.equal((await r.sender.send(buildSms(1))).status, 'submitted');
  assert.equal((await r.sender.send(buildSms(2))).status, 'submitted');
  assert.equal(r.sim.stats.binds, 1);
});

test('a PDU with a corrupt length resets the connection; later messages go through a new bind', async () => {
  const r = await rig({ faults: { malformedLength: true } });
  const first = await r.sender.send(buildSms(1));
  assert.equal(first.status, 'unknown');
  await bound(r);
  assert.equal((await r.sender.send(buildSms(2))).status, 'submitted');
  assert.equal(r.sim.stats.binds, 2);
});
