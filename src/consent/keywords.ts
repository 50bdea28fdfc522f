/**
 * Opt-out keywords. A reply opts out only when, after normalising, it IS one of these words:
 * case, punctuation, symbols and whitespace are ignored ("Stop!", " s t o p ", "С.Т.О.П"), but
 * anything more ("stop by our shop") is not an opt-out.
 */
export const STOP_KEYWORDS = [
  'STOP',
  'STOPALL',
  'STOP ALL',
  'UNSUBSCRIBE',
  'UNSUB',
  'OPT OUT',
  'OPTOUT',
  'CANCEL',
  'QUIT',
  'END',
  'STOPP',
  'СТОП',
  'ОТПИСАТЬСЯ',
  'ОТПИСКА',
  'ВІДПИСАТИСЯ',
  'ВІДПИСКА',
  'ВИДПИСАТИСЯ',
] as const;

// Punctuation, symbols, separators, control and format characters (zero-width spaces included).
const IGNORED = /[\p{P}\p{S}\p{Z}\p{C}\s]+/gu;

/** Case-, punctuation- and whitespace-insensitive form of a reply or keyword. */
export function normalizeReply(text: string): string {
  return text.normalize('NFKC').toLowerCase().replace(IGNORED, '');
}

/** Matches whole replies against a keyword list; build once, call per MO. */
export function createKeywordMatcher(
  keywords: readonly string[] = STOP_KEYWORDS,
): (text: string) => string | undefined {
  const set = new Map<string, string>();
  for (const k of keywords) {
    const n = normalizeReply(k);
    if (n) set.set(n, k);
  }
  return (text) => {
    // Replies longer than any keyword plus decoration cannot be an opt-out; skip normalising them.
    if (text.length > 200) return undefined;
    return set.get(normalizeReply(text));
  };
}
