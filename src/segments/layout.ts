import type { Attribute } from './catalogue.ts';

/**
 * How each catalogue attribute sits in a subscriber's row of the profile store. All of one subscriber's
 * attributes are contiguous (one row of `stride` bytes, 1–2 cache lines), so a rule over several
 * attributes costs one or two cache misses instead of one per attribute. Every raw value uses 0 for
 * "missing", so one comparison against 0 tells presence for every type:
 * - int: raw = value − min + 1; decimal: raw = round((value − min) · scale) + 1;
 * - enum: raw = index in `values` + 1 (a dictionary code);
 * - bool: 2 bits in a shared u32 flags word (0 missing, 1 false, 2 true);
 * - set: a u32 bitset (empty set = 0; sets have no separate "missing");
 * - timestamp: UTC day number in a u16 (days since 1970-01-01; 0 = missing, so 1970-01-01 itself is not representable).
 *
 * An int, decimal or enum whose raw values need fewer than 16 bits is a bit field (`bits`): as many bits
 * as its levels need, packed first-fit by decreasing width into u16 words, never across two words, so
 * one read, one shift and one mask give it back (an enum of 6 values takes 3 bits, not a byte). Fields
 * that need all 16 bits are u16; sets and the flags words are u32. Fields are little-endian and ordered
 * u32, the bit-field words, then u16, so each is aligned to its size within the row. The stride is even
 * but not necessarily a multiple of 4: u32 fields are read as two u16 halves.
 */
export type ColumnKind = 'u8' | 'u16' | 'u32' | 'bits';

export interface AttributeSlot {
  attr: Attribute;
  /** Byte offset of the attribute's field inside a row (the flags word's offset for bools). */
  offset: number;
  kind: ColumnKind;
  /** Bools: bit offset inside the flags word; bit fields: inside their u16 word. */
  shift: number;
  /** Bit fields only: the field's bits, `(word >>> shift) & mask`; 0 for the other kinds. */
  mask: number;
}

export interface Layout {
  readonly attrs: readonly AttributeSlot[];
  readonly byName: ReadonlyMap<string, AttributeSlot>;
  /** Byte offsets of the u32 flags words; the first (offset 0) carries the live bit. */
  readonly flagOffsets: readonly number[];
  /** Byte offset of the flags word that carries the live bit (ALIVE_BIT). */
  readonly flagsOffset: number;
  /** Bytes of one row: what one subscriber takes. Even, so u16 fields stay aligned in every row. */
  readonly bytesPerSlot: number;
}

/**
 * The store's rows: two views of one ArrayBuffer (row `s` starts at byte `s · stride`, i.e. u16 index
 * `s · stride / 2`). The object stays the same; its views are replaced when the store grows.
 */
export interface ProfileRows {
  u8: Uint8Array;
  u16: Uint16Array;
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

/** Bits a field needs for its raw values (0 = missing included). */
function bitsFor(levels: number): number {
  return Math.max(1, Math.ceil(Math.log2(levels)));
}

const BYTES = { u16: 2, u32: 4 } as const;

/** Derives the row layout from a catalogue (deterministic: same catalogue, same layout). */
export function buildLayout(catalogue: readonly Attribute[]): Layout {
  // bools share flags words (15 two-bit fields each; the first word also holds the live bit)
  const boolCount = catalogue.filter((a) => a.type === 'bool').length;
  const flagWords = Math.max(1, Math.ceil(boolCount / BOOLS_PER_WORD));
  const flagOffsets = Array.from({ length: flagWords }, (_, i) => i * 4);
  const wide: { attr: Attribute; kind: 'u16' | 'u32' }[] = [];
  const narrow: { attr: Attribute; bits: number }[] = [];
  for (const attr of catalogue) {
    if (attr.type === 'bool') continue;
    if (attr.type === 'set') wide.push({ attr, kind: 'u32' });
    else {
      const bits = bitsFor(rawLevels(attr));
      if (bits > 16) wide.push({ attr, kind: 'u32' });
      else if (bits === 16) wide.push({ attr, kind: 'u16' });
      else narrow.push({ attr, bits });
    }
  }
  let offset = flagWords * 4;
  const slots = new Map<Attribute, { offset: number; kind: ColumnKind; shift: number; mask: number }>();
  const place = (kind: 'u32' | 'u16') => {
    for (const f of wide) {
      if (f.kind !== kind) continue;
      slots.set(f.attr, { offset, kind, shift: 0, mask: 0 });
      offset += BYTES[kind];
    }
  };
  // u32 (sets) first, then the bit-field words, then the u16 fields: the flags, sets and the small
  // fields most rules combine sit in the first ~26 bytes, so a rule over them rarely spans two cache
  // lines; the u16 fields (timestamps, amounts) follow.
  place('u32');
  // First fit by decreasing width (ties in catalogue order) into u16 words.
  const order = narrow.map((f, i) => ({ ...f, i })).sort((a, b) => b.bits - a.bits || a.i - b.i);
  const free: number[] = [];
  for (const f of order) {
    let word = free.findIndex((left) => left >= f.bits);
    if (word < 0) {
      word = free.length;
      free.push(16);
    }
    const shift = 16 - free[word];
    free[word] -= f.bits;
    slots.set(f.attr, { offset: offset + word * 2, kind: 'bits', shift, mask: 2 ** f.bits - 1 });
  }
  offset += free.length * 2;
  place('u16');
  let boolIndex = 0;
  const attrs: AttributeSlot[] = catalogue.map((attr) => {
    if (attr.type === 'bool') {
      const word = Math.floor(boolIndex / BOOLS_PER_WORD);
      const shift = (boolIndex % BOOLS_PER_WORD) * 2;
      boolIndex++;
      return { attr, offset: flagOffsets[word], kind: 'u32', shift, mask: 0 };
    }
    return { attr, ...slots.get(attr)! };
  });
  return {
    attrs,
    byName: new Map(attrs.map((a) => [a.attr.name, a])),
    flagOffsets,
    flagsOffset: 0,
    bytesPerSlot: offset,
  };
}

/** Allocates rows for `capacity` subscribers, all zero (every slot free). */
export function allocRows(layout: Layout, capacity: number): ProfileRows {
  const buffer = new ArrayBuffer(layout.bytesPerSlot * capacity);
  return { u8: new Uint8Array(buffer), u16: new Uint16Array(buffer) };
}

/** The raw value of one attribute at a slot (a bool's two bits; a set's bitset as an unsigned number). */
export function readRaw(rows: ProfileRows, stride: number, slot: number, a: AttributeSlot): number {
  const at = slot * stride + a.offset;
  if (a.kind === 'u8') return rows.u8[at];
  const h = at >> 1;
  if (a.kind === 'bits') return (rows.u16[h] >>> a.shift) & a.mask;
  if (a.kind === 'u16') return rows.u16[h];
  const word = rows.u16[h] + rows.u16[h + 1] * 65536;
  return a.attr.type === 'bool' ? (word >>> a.shift) & 3 : word;
}

/** Stores a raw value (already validated to fit the field) at a slot; not for bools. */
export function writeRaw(
  rows: ProfileRows,
  stride: number,
  slot: number,
  a: AttributeSlot,
  raw: number,
): void {
  const at = slot * stride + a.offset;
  if (a.kind === 'u8') rows.u8[at] = raw;
  else if (a.kind === 'bits') {
    const h = at >> 1;
    rows.u16[h] = (rows.u16[h] & ~(a.mask << a.shift)) | (raw << a.shift);
  } else if (a.kind === 'u16') rows.u16[at >> 1] = raw;
  else {
    rows.u16[at >> 1] = raw & 0xffff;
    rows.u16[(at >> 1) + 1] = raw >>> 16;
  }
}
