import { AppError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { Definitions } from '../store/index.ts';
import type { ProfileStore } from './profile-store.ts';
import { type CompiledSegment, compileSegment } from './rule-compiler.ts';
import type { Segment } from './rule-schema.ts';
import { parseSegment } from './segment-catalogue.ts';

/** A segment as stored, with its compiled predicate. */
export interface StoredSegment {
  segment: Segment;
  version: number;
  updatedAtMs: number;
  updatedBy: string;
  compiled: CompiledSegment;
}

export interface AudienceSize {
  count: number;
  /** Matching profiles per value of `by` (only when asked). */
  breakdown?: Record<string, number>;
}

/** What retailers see of a size: rounded to `roundTo`, and nothing (null) below `minSize`. */
export interface SharedSize {
  size: number | null;
  belowMinimum: boolean;
}

export interface SegmentService {
  /** Loads every stored segment and compiles it; call once at start-up (and to pick up other instances' edits). */
  refresh(): Promise<void>;
  /** Refreshes every `ms` (edits made on other instances); returns the function that stops it. */
  refreshEvery(ms: number): () => void;
  /** Stores catalogue segments whose id is not stored yet (edits made through the API are kept). */
  seed(segments: readonly Segment[], actor?: string): Promise<string[]>;
  list(): StoredSegment[];
  get(id: string): StoredSegment | undefined;
  /** The compiled predicate of a segment, for the decision hot path (no I/O). */
  compiled(id: string): CompiledSegment | undefined;
  /** id → compiled predicate of every current segment (a fresh Map). */
  compiledMap(): Map<string, CompiledSegment>;
  /** Calls `listener(compiledMap())` after every change (put, remove, refresh); returns the unsubscribe function. */
  onChange(listener: (segments: Map<string, CompiledSegment>) => void): () => void;
  /** Creates (expectedVersion 0) or replaces a segment; validates and compiles before storing. */
  put(input: unknown, opts: { expectedVersion?: number; actor: string }): Promise<StoredSegment>;
  remove(id: string, opts: { expectedVersion?: number; actor: string }): Promise<void>;
  /** Exact audience size now, optionally broken down by one attribute. */
  size(id: string, nowMs: number, by?: string): AudienceSize;
  sample(id: string, nowMs: number, limit: number): string[];
}

/** Rounds a size for retailers: to the nearest `roundTo`, never below `minSize`; below it, no number at all. */
export function shareSize(count: number, rules: Segment['shareRules']): SharedSize {
  if (count < rules.minSize || count === 0) return { size: null, belowMinimum: true };
  return {
    size: Math.max(rules.minSize, Math.round(count / rules.roundTo) * rules.roundTo),
    belowMinimum: false,
  };
}

/**
 * Segment definitions (versioned rows of the `segments` table, operator-wide) with their compiled
 * predicates cached in memory, sized against the live profile store.
 */
export function createSegmentService(options: {
  definitions: Definitions<Segment>;
  profiles: ProfileStore;
  logger: Logger;
}): SegmentService {
  const { definitions, profiles } = options;
  const logger = options.logger.child({ stage: 'segments' });
  let cache = new Map<string, StoredSegment>();
  const listeners = new Set<(segments: Map<string, CompiledSegment>) => void>();
  const changed = () => {
    if (listeners.size === 0) return;
    const map = service.compiledMap();
    for (const l of listeners) l(map);
  };

  const notFound = (id: string) => new AppError('SEGMENT_NOT_FOUND', `no segment ${JSON.stringify(id)}`);
  const must = (id: string) => {
    const s = cache.get(id);
    if (!s) throw notFound(id);
    return s;
  };
  const build = (
    segment: Segment,
    version: number,
    updatedAtMs: number,
    updatedBy: string,
  ): StoredSegment => ({
    segment,
    version,
    updatedAtMs,
    updatedBy,
    compiled: compileSegment(segment.rule, profiles.catalogue),
  });

  const service: SegmentService = {
    async refresh() {
      const next = new Map<string, StoredSegment>();
      for (const d of await definitions.list()) {
        try {
          next.set(
            d.id,
            build(parseSegment(d.body, `segment ${d.id}`), d.version, d.updatedAtMs, d.updatedBy),
          );
        } catch (err) {
          // a stored definition that no longer validates (catalogue changed) is skipped, not fatal
          logger.error({ err, segment: d.id }, 'stored segment does not validate; skipped');
        }
      }
      cache = next;
      changed();
      logger.debug({ segments: cache.size }, 'segments loaded');
    },
    refreshEvery(ms) {
      const timer = setInterval(() => {
        service
          .refresh()
          .catch((err) => logger.error({ err }, 'segment refresh failed; keeping the last ones'));
      }, ms);
      timer.unref();
      return () => clearInterval(timer);
    },
    async seed(segments, actor = 'catalogue') {
      const created: string[] = [];
      for (const s of segments) {
        if (await definitions.get(s.id)) continue;
        await service.put(s, { expectedVersion: 0, actor });
        created.push(s.id);
      }
      return created;
    },
    list: () => [...cache.values()].sort((a, b) => a.segment.id.localeCompare(b.segment.id)),
    get: (id) => cache.get(id),
    compiled: (id) => cache.get(id)?.compiled,
    compiledMap: () => new Map([...cache].map(([id, s]) => [id, s.compiled])),
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async put(input, opts) {
      const segment = parseSegment(input);
      const stored = build(segment, 0, 0, opts.actor);
      const version = await definitions.put(segment.id, '', segment, opts);
      const fresh = { ...stored, version, updatedAtMs: Date.now() };
      cache.set(segment.id, fresh);
      changed();
      return fresh;
    },
    async remove(id, opts) {
      if (!cache.has(id) && !(await definitions.get(id))) throw notFound(id);
      try {
        await definitions.remove(id, opts);
      } catch (err) {
        if (err instanceof AppError && err.code === 'NOT_FOUND') throw notFound(id);
        throw err;
      }
      cache.delete(id);
      changed();
    },
    size(id, nowMs, by) {
      const { compiled } = must(id);
      if (by === undefined) return { count: compiled.count(profiles, nowMs) };
      const { total, groups } = compiled.breakdown(profiles, nowMs, by);
      return { count: total, breakdown: groups };
    },
    sample(id, nowMs, limit) {
      return must(id).compiled.sample(profiles, nowMs, limit);
    },
  };
  return service;
}
