import { type ChildProcess, spawn } from 'node:child_process';

export interface SayingChild {
  child: ChildProcess;
  /** The JSON of the child's first stdout line `<what> {...}` (waits for it; throws once the child is gone). */
  said(what: string): Promise<any>;
  exited: Promise<void>;
}

/** Runs a TypeScript test child (`node --import tsx script`) that reports progress as `<word> <json>` lines. */
export function startSayingChild(script: string, env: Record<string, string>): SayingChild {
  const child = spawn(process.execPath, ['--import', 'tsx', script], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines: string[] = [];
  let wake = () => {};
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (d: string) => {
    lines.push(...d.trim().split('\n'));
    wake();
  });
  let gone = false;
  const exited = new Promise<void>((r) =>
    child.once('exit', () => {
      gone = true;
      wake();
      r();
    }),
  );
  return {
    child,
    exited,
    async said(what) {
      for (;;) {
        const line = lines.find((l) => l.startsWith(`${what} `));
        if (line) return JSON.parse(line.slice(what.length + 1));
        if (gone) throw new Error(`the child exited before saying ${what}`);
        await new Promise<void>((r) => {
          wake = r;
        });
      }
    },
  };
}
