// Runs the SMSC simulator in its own process for benchmarks (as a real SMSC would be), so the
// sender under test does not share its event loop. Options: JSON in argv[2]. Prints `{"port":N}`;
// answers each `stats` line on stdin with the counters as JSON.
import { createInterface } from 'node:readline';
import { createSmscSimulator } from '../../src/deliver/index.ts';

const sim = await createSmscSimulator(JSON.parse(process.argv[2] ?? '{}'));
process.stdout.write(`${JSON.stringify({ port: sim.port })}\n`);
for await (const line of createInterface({ input: process.stdin })) {
  if (line === 'stats') {
    const { submits: _omit, receipts: _also, ...rest } = sim.stats;
    const cpu = process.cpuUsage();
    // cpuUs: the simulator process's CPU time so far (user + system), for CPU per submit.
    process.stdout.write(`${JSON.stringify({ ...rest, cpuUs: cpu.user + cpu.system })}\n`);
  }
}
await sim.stop();
process.exit(0);
