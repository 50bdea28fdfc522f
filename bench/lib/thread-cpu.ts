import { readdirSync, readFileSync } from 'node:fs';

/** CPU time (ms, user + system) of each thread of this process, by thread id, with its name. */
export function threadCpu(): Map<number, { name: string; ms: number }> {
  const out = new Map<number, { name: string; ms: number }>();
  let tids: string[];
  try {
    tids = readdirSync('/proc/self/task');
  } catch {
    return out; // not Linux: no per-thread figures
  }
  for (const tid of tids) {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      const name = stat.slice(stat.indexOf('(') + 1, close);
      const f = stat.slice(close + 2).split(' ');
      // fields 14 and 15 (utime, stime) in clock ticks of 10 ms; f[0] is field 3
      out.set(Number(tid), { name, ms: (Number(f[11]) + Number(f[12])) * 10 });
    } catch {
      // the thread ended meanwhile
    }
  }
  return out;
}

/**
 * CPU used between a `threadCpu` snapshot and now: by the main thread, by the busiest other thread
 * (in a worker round: the ingest worker; Node 20 does not name worker threads for the OS), and by all
 * the rest together (V8's GC helpers, the libuv pool, idle workers).
 */
export function cpuSince(before: Map<number, { name: string; ms: number }>): {
  main: number;
  busiest: number;
  rest: number;
} {
  let main = 0;
  let busiest = 0;
  let rest = 0;
  for (const [tid, t] of threadCpu()) {
    const d = t.ms - (before.get(tid)?.ms ?? 0);
    if (tid === process.pid) main = d;
    else if (d > busiest) {
      rest += busiest;
      busiest = d;
    } else rest += d;
  }
  return { main, busiest, rest };
}
