// `npm run smsc`: the SMSC simulator as a standalone process for the demo and manual tests.
// Port and TPS come from SMSC_SIM_PORT / SMSC_SIM_TPS; flags: --latency-ms N --receipt-delay-ms N
// --delivered F --undeliverable F --expired F (outcome mix weights).
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config.ts';
import { createSmscSimulator } from '../src/deliver/index.ts';

const config = loadConfig();
const { values } = parseArgs({
  options: {
    'latency-ms': { type: 'string', default: '5' },
    'receipt-delay-ms': { type: 'string', default: '500' },
    delivered: { type: 'string', default: '0.9' },
    undeliverable: { type: 'string', default: '0.07' },
    expired: { type: 'string', default: '0.03' },
  },
});
const sim = await createSmscSimulator({
  port: config.SMSC_SIM_PORT,
  host: '0.0.0.0',
  tps: config.SMSC_SIM_TPS,
  latencyMs: Number(values['latency-ms']),
  receiptDelayMs: Number(values['receipt-delay-ms']),
  outcomeMix: {
    delivered: Number(values.delivered),
    undeliverable: Number(values.undeliverable),
    expired: Number(values.expired),
  },
});
process.stdout.write(`SMSC simulator listening on ${sim.port} (tps ${config.SMSC_SIM_TPS || 'unlimited'})\n`);
const report = setInterval(() => {
  const s = sim.stats;
  process.stdout.write(
    `binds ${s.binds} received ${s.received} accepted ${s.accepted} throttled ${s.throttled} receipts ${s.receiptsSent}\n`,
  );
}, 10_000);
const stop = () => {
  clearInterval(report);
  void sim.stop().then(() => process.exit(0));
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
