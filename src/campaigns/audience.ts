import { type CompiledSegment, decodeValue, type ProfileStore } from '../segments/index.ts';

/** The engine's audience checks over the segments stage's row-major profile store. */
export interface Audience {
  inSegment(segmentId: string, sid: string, nowMs: number): boolean;
  languageOf(sid: string): string | undefined;
  setSegments(segments: ReadonlyMap<string, CompiledSegment>): void;
}

/** Segment membership and language straight from the profile rows (no profile object built). */
export function createAudience(opts: {
  profiles: ProfileStore;
  segments?: ReadonlyMap<string, CompiledSegment>;
}): Audience {
  const { profiles } = opts;
  let segments = opts.segments ?? new Map<string, CompiledSegment>();
  const language = profiles.layout.byName.get('language');
  // The store's one-entry cache: the engine asks about the same sid for every campaign of an event,
  // for its language and (through consent) for its consent entry; one sid lookup serves them all.
  const slotOf = (sid: string): number => profiles.lookup(sid);
  return {
    inSegment(segmentId, sid, nowMs) {
      const seg = segments.get(segmentId);
      if (seg === undefined) return false;
      const slot = slotOf(sid);
      return slot >= 0 && seg.matches(profiles, slot, nowMs);
    },
    languageOf(sid) {
      if (!language) return undefined;
      const slot = slotOf(sid);
      if (slot < 0) return undefined;
      const v = decodeValue(language, profiles.rawAt(slot, language));
      return typeof v === 'string' ? v : undefined;
    },
    setSegments(next) {
      segments = next;
    },
  };
}
