// GSM 03.38 default alphabet and its extension table (reached through the escape 0x1B).
const BASIC =
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?' +
  '¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà';
const EXTENSION: ReadonlyArray<readonly [string, number]> = [
  ['\f', 0x0a],
  ['^', 0x14],
  ['{', 0x28],
  ['}', 0x29],
  ['\\', 0x2f],
  ['[', 0x3c],
  ['~', 0x3d],
  [']', 0x3e],
  ['|', 0x40],
  ['€', 0x65],
];

export const GSM_ESCAPE = 0x1b;

const basicCode = new Map<number, number>();
for (let i = 0; i < BASIC.length; i++) if (i !== GSM_ESCAPE) basicCode.set(BASIC.charCodeAt(i), i);
const extCode = new Map<number, number>(EXTENSION.map(([ch, code]) => [ch.charCodeAt(0), code]));
const extChar = new Map<number, number>(EXTENSION.map(([ch, code]) => [code, ch.charCodeAt(0)]));

/** Septets one UTF-16 code unit takes in GSM-7: 1 (basic), 2 (extension) or 0 (not representable). */
export function gsmSeptets(codeUnit: number): 0 | 1 | 2 {
  if (basicCode.has(codeUnit)) return 1;
  if (extCode.has(codeUnit)) return 2;
  return 0;
}

/** True when every character of `text` is in the GSM 03.38 alphabet or its extension table. */
export function isGsm7(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (gsmSeptets(text.charCodeAt(i)) === 0) return false;
  return true;
}

/**
 * Encodes GSM-7 text as unpacked septets (one octet each), as SMPP carries data_coding 0.
 * Extension characters become the two septets ESC + code. Throws on a character outside GSM-7.
 */
export function encodeGsm7(text: string): Buffer {
  const out: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const cu = text.charCodeAt(i);
    const b = basicCode.get(cu);
    if (b !== undefined) {
      out.push(b);
      continue;
    }
    const e = extCode.get(cu);
    if (e === undefined) throw new RangeError(`character U+${cu.toString(16)} is not in GSM 03.38`);
    out.push(GSM_ESCAPE, e);
  }
  return Buffer.from(out);
}

/** Decodes unpacked septets; an unknown extension code decodes as a space (GSM 03.38 §6.2.1.1). */
export function decodeGsm7(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i] & 0x7f;
    if (b === GSM_ESCAPE && i + 1 < bytes.length) {
      const ch = extChar.get(bytes[++i] & 0x7f);
      s += ch === undefined ? ' ' : String.fromCharCode(ch);
    } else {
      s += BASIC[b];
    }
  }
  return s;
}
