// The whole service as a child process (`node --import tsx src/main.ts`), the way an operator runs it:
// configuration through the environment, JSON log lines on stdout, SIGTERM for a graceful stop,
// SIGKILL for a crash.
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const REPO_DIR = fileURLToPath(new URL('../../../', import.meta.url));

export interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

export interface ServiceProcess {
  readonly proc: ChildProcess;
  /** Every stdout/stderr line as written (for privacy checks and failure messages). */
  readonly output: string[];
  /** Parsed JSON log lines. */
  readonly logs: LogLine[];
  /** Resolves with the first log line `match` accepts (already written ones count). */
  waitForLog(match: (l: LogLine) => boolean, what: string, timeoutMs?: number): Promise<LogLine>;
  /** SIGTERM, then the exit code (null when a signal ended it). */
  stop(timeoutMs?: number): Promise<number | null>;
  /** SIGKILL; resolves once the process is gone. */
  kill(): Promise<void>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Environment every e2e run shares: loopback API on a free port, info logs, the repo's catalogues. */
export function baseEnv(dataDir: string): Record<string, string> {
  return {
    NODE_ENV: 'test',
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: 'info',
    DATA_DIR: dataDir,
    GEOFENCES_DIR: `${REPO_DIR}geofences`,
    SEGMENTS_DIR: `${REPO_DIR}segments`,
    PROFILES_CAPACITY: '4096',
    DEMO: 'true',
    ADMIN_API_KEY: 'e2e-admin-key-0123456789abcdef',
  };
}

/** Starts `src/main.ts` with `env` on top of a clean copy of this process's environment. */
export function startServiceProcess(env: Record<string, string>): ServiceProcess {
  const inherited: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    // The test runner's own markers and any geotrigger setting of the caller stay out of the child.
    if (v === undefined || k.startsWith('NODE_TEST') || k in env) continue;
    inherited[k] = v;
  }
  const proc = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: REPO_DIR,
    env: { ...inherited, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const logs: LogLine[] = [];
  const watchers = new Set<() => void>();
  const onLine = (line: string) => {
    output.push(line);
    if (line.startsWith('{')) {
      try {
        logs.push(JSON.parse(line) as LogLine);
      } catch {
        // not a log line
      }
    }
    for (const w of watchers) w();
  };
  for (const stream of [proc.stdout!, proc.stderr!]) {
    let buf = '';
    stream.setEncoding('utf8');
    stream.on('data', (d: string) => {
      buf += d;
      let i = buf.indexOf('\n');
      while (i >= 0) {
        onLine(buf.slice(0, i));
        buf = buf.slice(i + 1);
        i = buf.indexOf('\n');
      }
    });
  }
  let gone = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.once('exit', (code, signal) => {
      gone = true;
      resolve({ code, signal });
      for (const w of watchers) w();
    }),
  );
  const tail = () => output.slice(-30).join('\n');

  return {
    proc,
    output,
    logs,
    exited,
    waitForLog(match, what, timeoutMs = 60_000) {
      return new Promise<LogLine>((resolve, reject) => {
        const check = () => {
          const hit = logs.find(match);
          if (hit) {
            done();
            resolve(hit);
          } else if (gone) {
            done();
            reject(new Error(`service exited before ${what}; last output:\n${tail()}`));
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`timed out waiting for ${what}; last output:\n${tail()}`));
        }, timeoutMs);
        const done = () => {
          clearTimeout(timer);
          watchers.delete(check);
        };
        watchers.add(check);
        check();
      });
    },
    async stop(timeoutMs = 60_000) {
      if (!gone) proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
      const { code } = await exited;
      clearTimeout(timer);
      return code;
    },
    async kill() {
      if (!gone) proc.kill('SIGKILL');
      await exited;
    },
  };
}

/** Waits for start-up: the API listening, and with Kafka a partition assignment. Returns the API port. */
export async function waitUntilReady(svc: ServiceProcess, opts: { kafka: boolean }): Promise<number> {
  const listening = await svc.waitForLog((l) => l.msg.startsWith('API listening'), 'the API to listen');
  if (opts.kafka) {
    await svc.waitForLog(
      (l) => l.msg === 'partitions assigned' && Array.isArray(l.assigned) && l.assigned.length > 0,
      'a Kafka partition assignment',
      90_000,
    );
  }
  return Number(listening.port);
}
