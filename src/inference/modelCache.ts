import { LRUCache } from 'lru-cache';
import type { VersionMetadata } from '../registry/versionMetadata';
import type { ArtifactSource } from './artifactSource';
import { createModelBundle, fetchVersionArtifacts, type ModelBundle, type SessionSettings } from './modelBundle';

export interface ModelCacheOptions {
  /** Upper bound on the summed model bytes of loaded sessions. */
  maxBytes: number;
  session: SessionSettings;
}

export interface ModelCacheCounters {
  hits: number;
  misses: number;
  loads: number;
  loadFailures: number;
  evictions: number;
  sessionRuns: number;
  rowsPredicted: number;
  lastLoadMs: number;
}

interface LoadContext {
  metadata: VersionMetadata;
}

/**
 * Process-wide cache of loaded models keyed by `{model}@{version}` (immutable,
 * so entries never go stale), bounded by model bytes with LRU eviction, and
 * single-flight: concurrent requests for one key share one download and one
 * session (lru-cache's fetch coalesces them). A failed load is not cached.
 * Evicted sessions are released once their in-flight runs finish.
 */
export class ModelCache {
  readonly counters: ModelCacheCounters = { hits: 0, misses: 0, loads: 0, loadFailures: 0, evictions: 0, sessionRuns: 0, rowsPredicted: 0, lastLoadMs: 0 };
  private readonly cache: LRUCache<string, ModelBundle, LoadContext>;
  /** Called after every completed load with its duration (metrics). */
  onLoad?: (key: string, ms: number) => void;

  constructor(
    private readonly artifacts: ArtifactSource,
    private readonly opts: ModelCacheOptions,
  ) {
    this.cache = new LRUCache<string, ModelBundle, LoadContext>({
      maxSize: Math.max(1, opts.maxBytes),
      // A model bigger than the whole bound is still served (once), not refused.
      maxEntrySize: Number.MAX_SAFE_INTEGER,
      sizeCalculation: (bundle) => Math.max(1, bundle.sizeBytes),
      fetchMethod: (key, _stale, { context }) => this.load(key, context.metadata),
      dispose: (bundle, _key, reason) => {
        if (reason === 'evict' || reason === 'delete') this.counters.evictions++;
        bundle.retire();
      },
    });
  }

  private async load(key: string, metadata: VersionMetadata): Promise<ModelBundle> {
    const at = key.lastIndexOf('@');
    const model = key.slice(0, at);
    const version = key.slice(at + 1);
    const started = performance.now();
    this.counters.misses++;
    try {
      const files = await fetchVersionArtifacts(this.artifacts, model, version, metadata);
      const bundle = await createModelBundle(model, version, metadata, files, this.opts.session);
      this.counters.loads++;
      this.counters.lastLoadMs = performance.now() - started;
      this.onLoad?.(key, this.counters.lastLoadMs);
      return bundle;
    } catch (err) {
      this.counters.loadFailures++;
      throw err;
    }
  }

  /** The loaded bundle for `{model}@{version}`, loading it (once, however many callers) if needed. */
  async get(model: string, version: string, metadata: VersionMetadata): Promise<ModelBundle> {
    const key = `${model}@${version}`;
    const hit = this.cache.get(key);
    if (hit) {
      this.counters.hits++;
      return hit;
    }
    const bundle = await this.cache.fetch(key, { context: { metadata } });
    return bundle!;
  }

  /** Runs rows through a bundle, counting runs for metrics and tests. */
  async predict(bundle: ModelBundle, rows: readonly Float32Array[]) {
    this.counters.sessionRuns++;
    this.counters.rowsPredicted += rows.length;
    return bundle.predict(rows);
  }

  get loadedKeys(): string[] {
    return [...this.cache.keys()];
  }

  get loadedBytes(): number {
    return this.cache.calculatedSize;
  }

  clear(): void {
    this.cache.clear();
  }
}
