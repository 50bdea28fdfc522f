// Runs the SMSC simulator in its own process for benchmarks (as a real SMSC would be), so the
// sender under test does not share its event loop. Options: JSON in argv[2]. Prints `{"port":N}`;
// answers each `stats` line on stdin with the counters as JSON.
import { createInterface } from 'node:readline';
import { createSmscSimulator } from '../../src/deliver/index.ts';

const sim = await createSmscSimulator(JSON.parse(process.argv[2] ?? '{}'));
process.stdout.write(`${JSON.stringify({ port: sim.port })}\n`);
for await (const line of createInterface({ input: process.stdin })) {
  if (line === 'stats') {
    const { submits: _omit, ...rest } = sim.stats;
    process.stdout.write(`${JSON.stringify(rest)}\n`);
  }
}
await sim.stop();
process.exit(0);
