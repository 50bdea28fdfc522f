// 32-bit FNV-1a with murmur3's fmix32 finish: cheap, stable across processes and versions, and well
// mixed at both ends of the word. Used for the sid index's slots, message ids, promo codes, holdout
// draws and replay keys.

export const FNV_OFFSET = 0x811c9dc5;
export const FNV_PRIME = 0x01000193;

/** murmur3's 32-bit finaliser: spreads near-identical inputs over the whole range. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** FNV-1a over the UTF-16 code units of `text` from `seed`, then fmix32. */
export function fnv1a(text: string, seed = FNV_OFFSET): number {
  let h = seed >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, FNV_PRIME);
  }
  return fmix32(h);
}

/**
 * fnv1a(text, seedA) and fnv1a(text, seedB) in one pass over the text: the first is returned, the
 * second left in out[0].
 */
export function fnv1aPair(text: string, seedA: number, seedB: number, out: Uint32Array): number {
  let a = seedA >>> 0;
  let b = seedB >>> 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, FNV_PRIME);
    b = Math.imul(b ^ c, FNV_PRIME);
  }
  out[0] = fmix32(b);
  return fmix32(a);
}
