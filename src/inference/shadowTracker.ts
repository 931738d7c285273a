import { randomUUID } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import * as z from 'zod';
import { SHADOW_SUMMARY_FILE, shadowPairPrefix, shadowStatsKey, shadowStatsPrefix } from '../registry/bucketLayout';
import { parseJsonDocument } from '../registry/versionMetadata';
import { ObjectNotFoundError, PreconditionFailedError, StorageUnavailableError } from '../storage/errors';
import { replacing, type ObjectStore } from '../storage/objectStore';

/** Agreement of one pair of versions in shadow mode. */
export interface ShadowAgreement {
  productionVersion: string;
  stagingVersion: string;
  rows: number;
  agreements: number;
}

/** agreements / rows, or null before the first row. */
export function agreementRate(a: Pick<ShadowAgreement, 'rows' | 'agreements'>): number | null {
  return a.rows === 0 ? null : a.agreements / a.rows;
}

const ChunkSchema = z.object({ rows: z.number().int().nonnegative(), agreements: z.number().int().nonnegative() });

/**
 * The compacted counts of one pair of versions. `absorbed` names the count
 * files (of this pair's folder) whose counts are included and that may not be
 * deleted yet: a reader skips them, so it never counts a file twice.
 */
const SummarySchema = z.object({
  rows: z.number().int().nonnegative(),
  agreements: z.number().int().nonnegative(),
  /** Count files compacted into this summary so far. */
  files: z.number().int().nonnegative(),
  absorbed: z.array(z.string()),
  updatedAt: z.string(),
});
type Summary = z.infer<typeof SummarySchema>;
const NO_SUMMARY: Summary = Object.freeze({ rows: 0, agreements: 0, files: 0, absorbed: [], updatedAt: '' });

/** A count file listed a moment ago is gone: a compaction absorbed and deleted it since. */
class CountFileGone extends Error {}

export interface ShadowTrackerOptions {
  /** Milliseconds between flushes of this process's counts to the bucket (0: every batch). */
  flushIntervalMs: number;
  /**
   * A flush compacts a pair of versions once it has at least this many count
   * files not yet in its summary (SHADOW_COMPACT_FILES; Infinity: never, the
   * benchmark's baseline).
   */
  compactAfterFiles: number;
  onWarning?: (message: string, details: Record<string, unknown>) => void;
}

/** Reads of a model's agreement that start over when a count file vanished under them. */
const MAX_READ_ATTEMPTS = 5;

/**
 * Counts, per model and pair of versions, how many shadow rows staging answered
 * and how many agreed with production. Counts are kept in memory and flushed as
 * write-once files (one per instance and flush, so instances never contend);
 * `agreement()` sums the files plus what this process has not flushed yet.
 * A flush that fails keeps its counts for the next one. An instance that dies
 * between flushes loses at most one interval of counts.
 *
 * Compaction keeps the number of files (and a reader's GETs) bounded: once a
 * pair has `compactAfterFiles` files outside its summary, the flushing instance
 * adds them to `summary.json` with a conditional PUT (If-Match the summary it
 * read, If-None-Match: * for the first) and then deletes them. The summary
 * lists the files it absorbed that may still exist (its `absorbed`: the files
 * the compaction listed), so a reader that sees such a file skips it, and the
 * next compaction drops the names its listing shows are gone. Two instances
 * compacting at once: one PUT wins, the other leaves it (412). A compaction
 * that dies between its PUT and its deletes leaves files the summary already
 * names: still counted once, deleted by the next compaction.
 */
export class ShadowTracker {
  private pending = new Map<string, ShadowAgreement & { model: string }>();
  private lastFlush = Date.now();
  private flushing: Promise<void> | undefined;
  /** Flushed files are write-once: cached for good. Created on first use (lru-cache allocates `max` slots up front: not at cold start). */
  private chunkCache: LRUCache<string, { rows: number; agreements: number }> | undefined;
  private get chunks(): LRUCache<string, { rows: number; agreements: number }> {
    return (this.chunkCache ??= new LRUCache({ max: 20_000 }));
  }
  /** Compactions this process made (tests, logs). */
  readonly counters = { compactions: 0, filesCompacted: 0, compactionConflicts: 0 };

  constructor(
    private readonly store: ObjectStore,
    private readonly opts: ShadowTrackerOptions,
  ) {}

  private get compactAfterFiles(): number {
    return Math.max(1, this.opts.compactAfterFiles);
  }

  record(model: string, productionVersion: string, stagingVersion: string, rows: number, agreements: number): void {
    if (rows === 0) return;
    const key = `${model}|${productionVersion}|${stagingVersion}`;
    const entry = this.pending.get(key) ?? { model, productionVersion, stagingVersion, rows: 0, agreements: 0 };
    entry.rows += rows;
    entry.agreements += agreements;
    this.pending.set(key, entry);
  }

  /** Starts a flush when the interval has passed (not awaited by requests). */
  flushIfDue(): void {
    if (this.pending.size === 0 || this.flushing || Date.now() - this.lastFlush < this.opts.flushIntervalMs) return;
    void this.flush();
  }

  /** Writes every pending count now, then compacts the pairs it wrote that are due (tests, shutdown). */
  async flush(): Promise<void> {
    while (this.flushing) await this.flushing;
    if (this.pending.size === 0) return;
    const batch = this.pending;
    this.pending = new Map();
    this.lastFlush = Date.now();
    this.flushing = (async () => {
      const written: Array<ShadowAgreement & { model: string }> = [];
      for (const entry of batch.values()) {
        const file = `${new Date().toISOString().replace(/[:.]/g, '-')}-${randomUUID()}.json`;
        const key = shadowStatsKey(entry.model, entry.productionVersion, entry.stagingVersion, file);
        const counts = { rows: entry.rows, agreements: entry.agreements };
        try {
          await this.store.put(key, JSON.stringify(counts), { contentType: 'application/json', ifNoneMatch: '*' });
          this.chunks.set(key, counts);
          written.push(entry);
        } catch (err) {
          this.record(entry.model, entry.productionVersion, entry.stagingVersion, entry.rows, entry.agreements);
          this.warn('shadow agreement counts could not be written; kept for the next flush', entry.model, err);
        }
      }
      for (const entry of Number.isFinite(this.compactAfterFiles) ? written : []) {
        try {
          await this.compact(entry.model, entry.productionVersion, entry.stagingVersion);
        } catch (err) {
          // The counts are safe in their files; the next flush tries again.
          this.warn('shadow agreement counts could not be compacted; the next flush tries again', entry.model, err);
        }
      }
    })().finally(() => (this.flushing = undefined));
    await this.flushing;
  }

  /**
   * Adds the pair's count files that its summary does not include yet to the
   * summary and deletes them, when there are at least `minFiles` of them
   * (default `compactAfterFiles`). Without that many, it only deletes files the
   * summary already includes (left by a compaction that stopped before its
   * deletes). Returns whether it wrote a summary.
   */
  async compact(
    model: string,
    productionVersion: string,
    stagingVersion: string,
    minFiles = this.compactAfterFiles,
  ): Promise<boolean> {
    const folder = shadowPairPrefix(model, productionVersion, stagingVersion);
    const summaryKey = folder + SHADOW_SUMMARY_FILE;
    // The summary first, then the listing: a file absorbed by a later summary makes the PUT below fail.
    const stored = await this.store.getIfExists(summaryKey);
    const summary = stored ? parseJsonDocument(SummarySchema, stored.body, summaryKey) : NO_SUMMARY;
    const files = (await this.store.listKeys(folder))
      .map((k) => k.slice(folder.length))
      .filter((f) => f !== SHADOW_SUMMARY_FILE && !f.includes('/'));
    const absorbed = new Set(summary.absorbed);
    const fresh = files.filter((f) => !absorbed.has(f));
    if (fresh.length < minFiles) {
      const leftovers = files.filter((f) => absorbed.has(f));
      if (leftovers.length > 0) await this.deleteAbsorbed(model, folder, leftovers);
      return false;
    }
    let counts: Array<{ rows: number; agreements: number }>;
    try {
      counts = await Promise.all(fresh.map((f) => this.countFile(folder + f)));
    } catch (err) {
      if (err instanceof CountFileGone) return false; // another instance compacted them meanwhile
      throw err;
    }
    const next: Summary = {
      rows: summary.rows + counts.reduce((s, c) => s + c.rows, 0),
      agreements: summary.agreements + counts.reduce((s, c) => s + c.agreements, 0),
      files: summary.files + fresh.length,
      // Every file listed is now included; those the previous summary named and the listing no longer shows are deleted for good.
      absorbed: files,
      updatedAt: new Date().toISOString(),
    };
    try {
      await this.store.put(summaryKey, JSON.stringify(next), {
        contentType: 'application/json',
        ...replacing(stored?.etag),
      });
    } catch (err) {
      if (err instanceof PreconditionFailedError || err instanceof ObjectNotFoundError) {
        this.counters.compactionConflicts++;
        return false; // another instance compacted since the read: its summary stands, ours would count twice
      }
      throw err;
    }
    this.counters.compactions++;
    this.counters.filesCompacted += fresh.length;
    await this.deleteAbsorbed(model, folder, files);
    return true;
  }

  /** Deletes count files a stored summary names in `absorbed`; a failure only leaves them for the next compaction. */
  private async deleteAbsorbed(model: string, folder: string, files: string[]): Promise<void> {
    try {
      const failed = await this.store.deleteMany(files.map((f) => folder + f));
      if (failed.length > 0)
        this.warn(
          'some compacted shadow count files could not be deleted; the next compaction tries again',
          model,
          `${failed.length} files`,
        );
    } catch (err) {
      this.warn('compacted shadow count files could not be deleted; the next compaction tries again', model, err);
    }
  }

  private async countFile(key: string): Promise<{ rows: number; agreements: number }> {
    const cached = this.chunks.get(key);
    if (cached) return cached;
    const object = await this.store.getIfExists(key);
    if (!object) throw new CountFileGone(key);
    const parsed = parseJsonDocument(ChunkSchema, object.body, key);
    this.chunks.set(key, parsed);
    return parsed;
  }

  private warn(message: string, model: string, err: unknown): void {
    this.opts.onWarning?.(message, { model, error: err instanceof Error ? err.message : String(err) });
  }

  /**
   * Agreement per pair of versions of `model`: summaries and count files of
   * every instance plus this process's pending counts (after its flush in
   * flight, if any, has landed). The `current` pair
   * (production and staging now) first, then by version.
   */
  async agreement(
    model: string,
    current?: { productionVersion?: string | null; stagingVersion?: string | null },
  ): Promise<ShadowAgreement[]> {
    // Counts this process is writing are neither pending nor in the bucket yet:
    // wait for that write, so they are read back from their file.
    while (this.flushing) await this.flushing;
    let flushed: Map<string, ShadowAgreement> | undefined;
    for (let attempt = 1; !flushed; attempt++) {
      try {
        flushed = await this.readFlushed(model);
      } catch (err) {
        if (!(err instanceof CountFileGone)) throw err;
        if (attempt >= MAX_READ_ATTEMPTS) {
          throw new StorageUnavailableError(
            `Shadow agreement counts of ${model} kept changing while being read; try again`,
            { cause: err },
          );
        }
      }
    }
    const pairs = flushed;
    const add = (productionVersion: string, stagingVersion: string, rows: number, agreements: number) => {
      const id = `${productionVersion}|${stagingVersion}`;
      const pair = pairs.get(id) ?? { productionVersion, stagingVersion, rows: 0, agreements: 0 };
      pair.rows += rows;
      pair.agreements += agreements;
      pairs.set(id, pair);
    };
    for (const p of this.pending.values())
      if (p.model === model) add(p.productionVersion, p.stagingVersion, p.rows, p.agreements);
    const rank = (p: ShadowAgreement) =>
      p.productionVersion === current?.productionVersion && p.stagingVersion === current?.stagingVersion ? 0 : 1;
    return [...pairs.values()].sort(
      (a, b) =>
        rank(a) - rank(b) ||
        a.productionVersion.localeCompare(b.productionVersion) ||
        a.stagingVersion.localeCompare(b.stagingVersion),
    );
  }

  /**
   * Sums the bucket's counts of `model` per pair. Every summary is read before
   * the listing whose count files are checked against it: a file listed then is
   * either absorbed by that summary (named in `absorbed`, skipped) or not
   * included in it (counted). A summary that appears in a listing is read and
   * the folder listed again; summaries are never deleted, so this ends.
   */
  private async readFlushed(model: string): Promise<Map<string, ShadowAgreement>> {
    const prefix = shadowStatsPrefix(model);
    const summaries = new Map<string, Summary & { absorbedFiles: Set<string> }>();
    const pairOf = (key: string) => {
      const parts = key.slice(prefix.length).split('/');
      return parts.length === 3
        ? { productionVersion: parts[0], stagingVersion: parts[1], file: parts[2], id: `${parts[0]}|${parts[1]}` }
        : undefined;
    };
    let keys = await this.store.listKeys(prefix);
    for (;;) {
      const unread = keys.filter((k) => {
        const p = pairOf(k);
        return p?.file === SHADOW_SUMMARY_FILE && !summaries.has(p.id);
      });
      if (unread.length === 0) break;
      await Promise.all(
        unread.map(async (key) => {
          const summary = parseJsonDocument(SummarySchema, (await this.store.get(key)).body, key);
          summaries.set(pairOf(key)!.id, { ...summary, absorbedFiles: new Set(summary.absorbed) });
        }),
      );
      keys = await this.store.listKeys(prefix);
    }

    const pairs = new Map<string, ShadowAgreement>();
    const pairEntry = (p: { productionVersion: string; stagingVersion: string; id: string }) => {
      let entry = pairs.get(p.id);
      if (!entry)
        pairs.set(
          p.id,
          (entry = {
            productionVersion: p.productionVersion,
            stagingVersion: p.stagingVersion,
            rows: 0,
            agreements: 0,
          }),
        );
      return entry;
    };
    const counted = keys.flatMap((key) => {
      const p = pairOf(key);
      if (!p || p.file === SHADOW_SUMMARY_FILE) return [];
      return summaries.get(p.id)?.absorbedFiles.has(p.file) ? [] : [{ key, p }];
    });
    const counts = await Promise.all(counted.map(({ key }) => this.countFile(key)));
    counted.forEach(({ p }, i) => {
      const entry = pairEntry(p);
      entry.rows += counts[i].rows;
      entry.agreements += counts[i].agreements;
    });
    for (const [id, s] of summaries) {
      const [productionVersion, stagingVersion] = id.split('|');
      const entry = pairEntry({ productionVersion, stagingVersion, id });
      entry.rows += s.rows;
      entry.agreements += s.agreements;
    }
    return pairs;
  }
}
