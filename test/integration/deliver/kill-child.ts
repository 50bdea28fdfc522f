// A sending process for the SIGKILL test: binds, then sends every key in order at a fixed rate.
// The parent kills it at random moments; each restart sends the same keys again.
import pino from 'pino';
import { createDirectory, createSmppSender, openOutbox, smppAccount } from '../../../src/deliver/index.ts';

const port = Number(process.env.SMSC_PORT);
const dir = String(process.env.OUTBOX_DIR);
const n = Number(process.env.KEYS);
const logger = pino({ level: 'silent' });
const outbox = await openOutbox({ dir, logger });
const phones: [string, string][] = Array.from({ length: n }, (_, i) => [
  `sid-${i}`,
  String(380500000000 + i),
]);
const sender = createSmppSender({
  accounts: [smppAccount({ port, systemId: 'kill', tps: 200, window: 20, responseTimeoutMs: 2000 })],
  logger,
  directory: createDirectory(phones),
  outbox,
});
while (sender.status().accounts[0].bound === 0) await new Promise((r) => setTimeout(r, 2));
process.stdout.write(`bound ${outbox.recovered.length}\n`);
// Orders an earlier run left queued go first; the loop below then finds their keys taken.
const recovering = sender.recover();
// At most 100 messages handed over at a time, as the decide stage would.
const results: { status: string }[] = [];
let next = 0;
await Promise.all(
  Array.from({ length: 100 }, async () => {
    while (next < n) {
      const i = next++;
      const sid = phones[i][0];
      const text = `Offer ${i}`;
      results.push(
        await sender.send({
          idempotencyKey: `${sid}|c1|enter`,
          sid,
          campaignId: 'c1',
          fenceId: 'f1',
          senderId: 'Shop',
          text,
        }),
      );
    }
  }),
);
results.push(...(await recovering));
const counts: Record<string, number> = {};
for (const r of results) counts[r.status] = (counts[r.status] ?? 0) + 1;
process.stdout.write(`done ${JSON.stringify(counts)}\n`);
await sender.close();
await outbox.close();
process.exit(0);
