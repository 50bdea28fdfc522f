// The SMSC simulator in its own process, as a real SMSC would be (options: JSON in argv[2]). Prints
// `{"port":N}`, then answers `stats` with its counters and `dump` with every submit and receipt.
import { createInterface } from 'node:readline';
import { createSmscSimulator } from '../../../src/deliver/index.ts';

const sim = await createSmscSimulator({ recordSubmits: true, ...JSON.parse(process.argv[2] ?? '{}') });
process.stdout.write(`${JSON.stringify({ port: sim.port })}\n`);
for await (const line of createInterface({ input: process.stdin })) {
  const { submits, receipts, ...counters } = sim.stats;
  if (line === 'stats') process.stdout.write(`${JSON.stringify(counters)}\n`);
  if (line === 'dump') {
    const out = {
      submits: submits.map((s) => ({ messageId: s.messageId, destination: s.destination, status: s.status })),
      receipts,
    };
    process.stdout.write(`${JSON.stringify(out)}\n`);
  }
}
await sim.stop();
process.exit(0);
