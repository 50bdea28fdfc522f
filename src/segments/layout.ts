import type { Attribute } from './catalogue.ts';

/**
 * How each catalogue attribute sits in the columnar store. Every raw value uses 0 for "missing",
 * so one comparison against 0 tells presence for every type:
 * - int: raw = value − min + 1; decimal: raw = round((value − min) · scale) + 1 (Uint8 or Uint16 by range);
 * - enum: raw = index in `values` + 1 (a dictionary code, Uint8);
 * - bool: 2 bits in a shared Uint32 flags word (0 missing, 1 false, 2 true);
 * - set: a Uint32 bitset (empty set = 0; sets have no separate "missing");
 * - timestamp: UTC day number in a Uint16 (days since 1970-01-01; 0 = missing, so 1970-01-01 itself is not representable).
 */
export type ColumnKind = 'u8' | 'u16' | 'u32';

export interface AttributeSlot {
  attr: Attribute;
  /** Index into `ProfileStore.cols`. */
  col: number;
  kind: ColumnKind;
  /** Bools only: bit offset inside the flags word. */
  shift: number;
}

export interface Layout {
  readonly attrs: readonly AttributeSlot[];
  readonly byName: ReadonlyMap<string, AttributeSlot>;
  readonly columnKinds: readonly ColumnKind[];
  /** Column of the flags word; bit 31 marks a live slot. */
  readonly flagsCol: number;
  /** Bytes one subscriber takes across all columns. */
  readonly bytesPerSlot: number;
}

export const ALIVE_BIT = 0x8000_0000;
const BOOLS_PER_WORD = 15;

/** Number of distinct raw values an int/decimal needs, including the 0 for missing. */
export function rawLevels(attr: Attribute): number {
  if (attr.type === 'int') return attr.max - attr.min + 2;
  if (attr.type === 'decimal') return Math.round((attr.max - attr.min) * attr.scale) + 2;
  if (attr.type === 'enum') return attr.values.length + 1;
  if (attr.type === 'timestamp') return 65536;
  return 2 ** 32;
}

function kindFor(levels: number): ColumnKind {
  if (levels <= 256) return 'u8';
  if (levels <= 65536) return 'u16';
  return 'u32';
}

const BYTES: Record<ColumnKind, number> = { u8: 1, u16: 2, u32: 4 };

/** Derives the column layout from a catalogue (deterministic: same catalogue, same layout). */
export function buildLayout(catalogue: readonly Attribute[]): Layout {
  const columnKinds: ColumnKind[] = ['u32'];
  const attrs: AttributeSlot[] = [];
  let flagsCol = 0;
  let boolsInWord = 0;
  for (const attr of catalogue) {
    if (attr.type === 'bool') {
      if (boolsInWord === BOOLS_PER_WORD) {
        // a further flags word; only the first carries the live bit
        columnKinds.push('u32');
        flagsCol = columnKinds.length - 1;
        boolsInWord = 0;
      }
      attrs.push({ attr, col: flagsCol, kind: 'u32', shift: boolsInWord * 2 });
      boolsInWord++;
      continue;
    }
    const kind: ColumnKind = attr.type === 'set' ? 'u32' : kindFor(rawLevels(attr));
    columnKinds.push(kind);
    attrs.push({ attr, col: columnKinds.length - 1, kind, shift: 0 });
  }
  return {
    attrs,
    byName: new Map(attrs.map((a) => [a.attr.name, a])),
    columnKinds,
    flagsCol: 0,
    bytesPerSlot: columnKinds.reduce((n, k) => n + BYTES[k], 0),
  };
}

export type Column = Uint8Array | Uint16Array | Uint32Array;

export function allocColumn(kind: ColumnKind, capacity: number): Column {
  if (kind === 'u8') return new Uint8Array(capacity);
  if (kind === 'u16') return new Uint16Array(capacity);
  return new Uint32Array(capacity);
}
