import { randomUUID } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import * as z from 'zod';
import { shadowStatsKey, shadowStatsPrefix } from '../registry/bucketLayout';
import { parseJsonDocument } from '../registry/versionMetadata';
import type { ObjectStore } from '../storage/objectStore';

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

export interface ShadowTrackerOptions {
  /** Milliseconds between flushes of this process's counts to the bucket (0: every batch). */
  flushIntervalMs: number;
  onWarning?: (message: string, details: Record<string, unknown>) => void;
}

/**
 * Counts, per model and pair of versions, how many shadow rows staging answered
 * and how many agreed with production. Counts are kept in memory and flushed as
 * write-once files (one per instance and flush, so instances never contend);
 * `agreement()` sums the files plus what this process has not flushed yet.
 * A flush that fails keeps its counts for the next one. An instance that dies
 * between flushes loses at most one interval of counts.
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

  constructor(
    private readonly store: ObjectStore,
    private readonly opts: ShadowTrackerOptions,
  ) {}

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

  /** Writes every pending count now (tests, shutdown). */
  async flush(): Promise<void> {
    while (this.flushing) await this.flushing;
    if (this.pending.size === 0) return;
    const batch = this.pending;
    this.pending = new Map();
    this.lastFlush = Date.now();
    this.flushing = (async () => {
      for (const entry of batch.values()) {
        const file = `${new Date().toISOString().replace(/[:.]/g, '-')}-${randomUUID()}.json`;
        const key = shadowStatsKey(entry.model, entry.productionVersion, entry.stagingVersion, file);
        const counts = { rows: entry.rows, agreements: entry.agreements };
        try {
          await this.store.put(key, JSON.stringify(counts), { contentType: 'application/json', ifNoneMatch: '*' });
          this.chunks.set(key, counts);
        } catch (err) {
          this.record(entry.model, entry.productionVersion, entry.stagingVersion, entry.rows, entry.agreements);
          this.opts.onWarning?.('shadow agreement counts could not be written; kept for the next flush', {
            model: entry.model,
            error: err instanceof Error ? err.message : String(err),
          });
        }
      }
    })().finally(() => (this.flushing = undefined));
    await this.flushing;
  }

  /**
   * Agreement per pair of versions of `model`: flushed files of every instance
   * plus this process's pending counts. The `current` pair (production and
   * staging now) first, then by version.
   */
  async agreement(model: string, current?: { productionVersion?: string | null; stagingVersion?: string | null }): Promise<ShadowAgreement[]> {
    const prefix = shadowStatsPrefix(model);
    const keys = await this.store.listKeys(prefix);
    const pairs = new Map<string, ShadowAgreement>();
    const add = (productionVersion: string, stagingVersion: string, rows: number, agreements: number) => {
      const id = `${productionVersion}|${stagingVersion}`;
      const pair = pairs.get(id) ?? { productionVersion, stagingVersion, rows: 0, agreements: 0 };
      pair.rows += rows;
      pair.agreements += agreements;
      pairs.set(id, pair);
    };
    const counts = await Promise.all(
      keys.map(async (key) => {
        const cached = this.chunks.get(key);
        if (cached) return cached;
        const parsed = parseJsonDocument(ChunkSchema, (await this.store.get(key)).body, key);
        this.chunks.set(key, parsed);
        return parsed;
      }),
    );
    keys.forEach((key, i) => {
      const [productionVersion, stagingVersion] = key.slice(prefix.length).split('/');
      add(productionVersion, stagingVersion, counts[i].rows, counts[i].agreements);
    });
    for (const p of this.pending.values()) if (p.model === model) add(p.productionVersion, p.stagingVersion, p.rows, p.agreements);
    const rank = (p: ShadowAgreement) => (p.productionVersion === current?.productionVersion && p.stagingVersion === current?.stagingVersion ? 0 : 1);
    return [...pairs.values()].sort(
      (a, b) => rank(a) - rank(b) || a.productionVersion.localeCompare(b.productionVersion) || a.stagingVersion.localeCompare(b.stagingVersion),
    );
  }
}
