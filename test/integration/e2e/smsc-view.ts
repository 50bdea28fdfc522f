// What an SMSC received, as whole messages: accepted submit_sm parts grouped by destination and
// concatenation reference and reassembled, from the repo's simulator or from the Net::SMPP SMSC.
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { SmscSimulator } from '../../../src/deliver/index.ts';
import { decodeUcs2, readConcatUdh } from '../../../src/deliver/segmentation.ts';

/** One accepted submit_sm. */
export interface SmscPart {
  /** Position among every submit_sm the SMSC received (0 = first). */
  n: number;
  destination: string;
  source: string;
  sourceTon: number;
  dataCoding: number;
  esmClass: number;
  registeredDelivery: number;
  /** short_message octets, UDH included. */
  sm: Buffer;
}

/** One SMS as the handset would show it. */
export interface SmscMessage {
  destination: string;
  source: string;
  sourceTon: number;
  dataCodings: number[];
  /** Parts received, in sequence order. */
  parts: SmscPart[];
  /** The total the UDH announces (1 without a UDH). */
  total: number;
  /** False when a part is missing or out of the announced range (a repeat starts another message). */
  complete: boolean;
  text: string;
}

export function simulatorParts(sim: SmscSimulator): SmscPart[] {
  return sim.stats.submits
    .map((s, n) => ({ s, n }))
    .filter(({ s }) => s.status === 0)
    .map(({ s, n }) => ({
      n,
      destination: s.destination,
      source: s.source,
      sourceTon: s.sourceTon,
      dataCoding: s.dataCoding,
      esmClass: s.esmClass,
      registeredDelivery: s.registeredDelivery,
      sm: s.shortMessage,
    }));
}

/** Groups parts into messages; a repeated (reference, sequence) to one number starts another message. */
export function assemble(parts: readonly SmscPart[]): SmscMessage[] {
  const groups: { key: string; seqs: Map<number, SmscPart>; total: number }[] = [];
  for (const p of parts) {
    const udh = (p.esmClass & 0x40) !== 0 ? readConcatUdh(p.sm) : undefined;
    if (udh === undefined) {
      groups.push({ key: `${p.destination}|single`, seqs: new Map([[1, p]]), total: 1 });
      continue;
    }
    const key = `${p.destination}|${udh.ref}|${udh.total}`;
    let g = groups.find((x) => x.key === key && !x.seqs.has(udh.seq));
    if (!g) {
      g = { key, seqs: new Map(), total: udh.total };
      groups.push(g);
    }
    g.seqs.set(udh.seq, p);
  }
  return groups.map((g) => {
    const ordered = [...g.seqs.entries()].sort((a, b) => a[0] - b[0]).map(([, p]) => p);
    const first = ordered[0];
    const text = ordered
      .map((p) => {
        const udh = (p.esmClass & 0x40) !== 0 ? readConcatUdh(p.sm) : undefined;
        const body = udh ? p.sm.subarray(udh.headerLength) : p.sm;
        return p.dataCoding === 8 ? decodeUcs2(body) : body.toString('latin1');
      })
      .join('');
    const seqsOk = ordered.length === g.total && [...g.seqs.keys()].every((s) => s >= 1 && s <= g.total);
    return {
      destination: first.destination,
      source: first.source,
      sourceTon: first.sourceTon,
      dataCodings: [...new Set(ordered.map((p) => p.dataCoding))],
      parts: ordered,
      total: g.total,
      complete: seqsOk,
      text,
    };
  });
}

/** Messages per destination number. */
export function byDestination(messages: readonly SmscMessage[]): Map<string, SmscMessage[]> {
  const out = new Map<string, SmscMessage[]>();
  for (const m of messages) {
    const list = out.get(m.destination) ?? [];
    list.push(m);
    out.set(m.destination, list);
  }
  return out;
}

/** The Perl Net::SMPP SMSC (test/helpers/netsmpp-smsc.pl) as a child process, with its event lines. */
export interface NetSmppSmsc {
  port: number;
  lines: string[][];
  parts(): SmscPart[];
  stop(): Promise<void>;
}

export async function startNetSmppSmsc(): Promise<NetSmppSmsc> {
  const script = fileURLToPath(new URL('../../helpers/netsmpp-smsc.pl', import.meta.url));
  const proc: ChildProcess = spawn('perl', [script], { stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  const lines: string[][] = [];
  let buf = '';
  proc.stdout!.setEncoding('utf8');
  proc.stdout!.on('data', (d: string) => {
    buf += d;
    let i = buf.indexOf('\n');
    while (i >= 0) {
      lines.push(buf.slice(0, i).split('\t'));
      buf = buf.slice(i + 1);
      i = buf.indexOf('\n');
    }
  });
  const end = Date.now() + 10_000;
  while (!lines.some((l) => l[0] === 'LISTENING')) {
    if (Date.now() > end || proc.exitCode !== null) throw new Error('Net::SMPP SMSC did not start');
    await new Promise((r) => setTimeout(r, 20));
  }
  const port = Number(lines.find((l) => l[0] === 'LISTENING')![1]);
  return {
    port,
    lines,
    // SUBMIT <seq> <data_coding> <esm_class> <src_ton> <src_npi> <source> <destination> <registered_delivery> <validity> <hex>
    parts: () =>
      lines
        .filter((l) => l[0] === 'SUBMIT')
        .map((l, n) => ({
          n,
          dataCoding: Number(l[2]),
          esmClass: Number(l[3]),
          sourceTon: Number(l[4]),
          source: l[6],
          destination: l[7],
          registeredDelivery: Number(l[8]),
          sm: Buffer.from(l[10] ?? '', 'hex'),
        })),
    async stop() {
      proc.stdin!.end();
      proc.kill();
      await exited;
    },
  };
}
