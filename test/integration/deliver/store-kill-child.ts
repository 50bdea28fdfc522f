// A sending process with the real store for the receipts SIGKILL test: embedded ClickHouse under
// DATA_DIR through the batched writer (1 s flushes, as in the service), the outbox journal, one bind
// to the simulator process. Sends every key at a fixed rate; SIGTERM closes it gracefully.
import { join } from 'node:path';
import pino from 'pino';
import {
  createDirectory,
  createSmppSender,
  openOutbox,
  smppAccount,
  storeDeliverySink,
} from '../../../src/deliver/index.ts';
import { createStore, createWriter } from '../../../src/store/index.ts';

const port = Number(process.env.SMSC_PORT);
const dir = String(process.env.DATA_DIR);
const n = Number(process.env.KEYS);
const logger = pino({ level: process.env.TEST_LOG ?? 'silent' });
const store = await createStore({
  config: {
    user: 'default',
    password: '',
    database: 'kill_receipts',
    dataDir: dir,
    ttlDays: 30,
    minGroupSize: 1,
  },
  logger,
});
const writer = createWriter({ store, logger, spillDir: join(dir, 'spill') });
const outbox = await openOutbox({ dir: join(dir, 'deliver'), logger });
const phones: [string, string][] = Array.from({ length: n }, (_, i) => [
  `sid-${i}`,
  String(380670000000 + i),
]);
const sender = createSmppSender({
  accounts: [smppAccount({ port, systemId: 'kill', tps: 300, window: 20, responseTimeoutMs: 2000 })],
  logger,
  directory: createDirectory(phones),
  outbox,
  // Wired as the service wires it.
  sink: storeDeliverySink(store, writer),
});
let closing: Promise<void> | undefined;
const close = () => {
  closing ??= (async () => {
    await sender.close();
    await writer.close();
    await outbox.close();
    await store.close();
  })();
  return closing;
};
process.once('SIGTERM', () => void close().then(() => process.exit(0)));
while (sender.status().accounts[0].bound === 0) await new Promise((r) => setTimeout(r, 2));
process.stdout.write(
  `bound ${JSON.stringify({ unknown: outbox.recovered.length, tracked: outbox.tracked.length, rows: outbox.unconfirmedRows.length })}\n`,
);
const recovering = sender.recover();
const counts: Record<string, number> = {};
let next = 0;
await Promise.all(
  Array.from({ length: 50 }, async () => {
    while (next < n) {
      const i = next++;
      const sid = phones[i][0];
      const r = await sender.send({
        idempotencyKey: `${sid}|c1|enter`,
        sid,
        campaignId: 'c1',
        fenceId: 'f1',
        storeId: 's1',
        tenant: 'acme',
        senderId: 'Shop',
        text: `Offer ${i}`,
      });
      counts[r.status] = (counts[r.status] ?? 0) + 1;
    }
  }),
);
for (const r of await recovering)
  counts[`recovered_${r.status}`] = (counts[`recovered_${r.status}`] ?? 0) + 1;
process.stdout.write(`done ${JSON.stringify(counts)}\n`);
