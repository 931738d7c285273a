import { LRUCache } from 'lru-cache';
import type { VersionMetadata } from '../registry/versionMetadata';
import type { ArtifactSource } from './artifactSource';
import { createModelBundle, fetchVersionArtifacts, type ModelBundle, type SessionSettings } from './modelBundle';

export interface ModelCacheOptions {
  /** Upper bound on the summed model bytes of loaded sessions. */
  maxBytes: number;
  session: SessionSettings;
  /**
   * Large batches (at least `minRows` rows in one run) go to a second session of
   * the same version with `intraOpNumThreads` threads, created on the first such
   * batch (intra-op threads are a session option, and more threads slow single
   * rows down). Its memory is not counted in `maxBytes`. Unset: one session.
   */
  bulk?: { intraOpNumThreads: number; minRows: number };
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
  /** Bulk sessions loaded (see ModelCacheOptions.bulk). */
  bulkSessions: number;
}

/**
 * Process-wide cache of loaded models keyed by `{model}@{version}` (immutable,
 * so entries never go stale), bounded by model bytes with LRU eviction, and
 * single-flight: concurrent requests for one key share one download and one
 * session. A failed load is not cached. Evicted sessions are released once
 * their in-flight runs finish.
 *
 * Loads in flight are kept apart from the LRU and enter it only once loaded:
 * lru-cache's own fetch() puts a placeholder in the LRU, and evicting that
 * placeholder under memory pressure aborts the load — its callers get an
 * untyped "evicted" error and the session it created is never released.
 */
export class ModelCache {
  readonly counters: ModelCacheCounters = {
    hits: 0,
    misses: 0,
    loads: 0,
    loadFailures: 0,
    evictions: 0,
    sessionRuns: 0,
    rowsPredicted: 0,
    lastLoadMs: 0,
    bulkSessions: 0,
  };
  private readonly cache: LRUCache<string, ModelBundle>;
  private readonly loading = new Map<string, Promise<ModelBundle>>();
  /** The bulk sessions (see ModelCacheOptions.bulk) of loaded bundles, by key; retired with their bundle. */
  private readonly bulk = new Map<string, Promise<ModelBundle | undefined>>();
  private bytes = 0;
  /** Called after every completed load with its duration (metrics). */
  onLoad?: (key: string, ms: number) => void;

  constructor(
    private readonly artifacts: ArtifactSource,
    private readonly opts: ModelCacheOptions,
  ) {
    const maxSize = Math.max(1, opts.maxBytes);
    this.cache = new LRUCache<string, ModelBundle>({
      maxSize,
      // A model bigger than the whole bound is still served and kept, alone: it
      // counts as the whole bound, so it evicts every other model and the next
      // model evicts it. (Counted at its real size, lru-cache would evict it
      // while inserting it and never dispose of it.)
      sizeCalculation: (bundle) => Math.min(maxSize, Math.max(1, bundle.sizeBytes)),
      dispose: (bundle, _key, reason) => {
        if (reason === 'evict' || reason === 'delete') this.counters.evictions++;
        this.bytes -= bundle.sizeBytes;
        bundle.retire();
        const bulk = this.bulk.get(bundle.key);
        this.bulk.delete(bundle.key);
        void bulk?.then((b) => b?.retire());
      },
    });
  }

  private async load(key: string, model: string, version: string, metadata: VersionMetadata): Promise<ModelBundle> {
    const started = performance.now();
    this.counters.misses++;
    let bundle: ModelBundle;
    try {
      const files = await fetchVersionArtifacts(this.artifacts, model, version, metadata);
      bundle = await createModelBundle(model, version, metadata, files, this.opts.session);
      await this.artifacts.settleWrites();
    } catch (err) {
      this.counters.loadFailures++;
      throw err;
    }
    this.bytes += bundle.sizeBytes;
    this.cache.set(key, bundle);
    this.counters.loads++;
    this.counters.lastLoadMs = performance.now() - started;
    this.onLoad?.(key, this.counters.lastLoadMs);
    return bundle;
  }

  /** The loaded bundle for `{model}@{version}`, loading it (once, however many callers) if needed. */
  async get(model: string, version: string, metadata: VersionMetadata): Promise<ModelBundle> {
    const key = `${model}@${version}`;
    const hit = this.cache.get(key);
    if (hit) {
      this.counters.hits++;
      return hit;
    }
    let pending = this.loading.get(key);
    if (!pending) {
      pending = this.load(key, model, version, metadata).finally(() => this.loading.delete(key));
      this.loading.set(key, pending);
    }
    return pending;
  }

  /** One batched run over a row-major matrix (see ModelBundle.run), counting runs and rows for metrics and tests. */
  async run(bundle: ModelBundle, input: Float32Array, n: number): Promise<Float32Array> {
    this.counters.sessionRuns++;
    this.counters.rowsPredicted += n;
    const bulk = this.opts.bulk && n >= this.opts.bulk.minRows ? await this.bulkBundle(bundle) : undefined;
    return (bulk && !bulk.isReleased ? bulk : bundle).run(input, n);
  }

  /**
   * The bundle's bulk session, loaded once (artifacts again from the disk cache
   * or S3, verified like the first load). If it cannot be loaded, or its
   * bundle has been evicted meanwhile, large batches stay on the bundle itself.
   */
  private bulkBundle(bundle: ModelBundle): Promise<ModelBundle | undefined> {
    let pending = this.bulk.get(bundle.key);
    if (!pending) {
      const session = { ...this.opts.session, intraOpNumThreads: this.opts.bulk!.intraOpNumThreads };
      pending = fetchVersionArtifacts(this.artifacts, bundle.model, bundle.version, bundle.metadata)
        .then((files) => createModelBundle(bundle.model, bundle.version, bundle.metadata, files, session))
        .then(
          (b) => {
            this.counters.bulkSessions++;
            if (this.cache.peek(bundle.key) === bundle) return b;
            b.retire();
            return undefined;
          },
          () => undefined,
        );
      this.bulk.set(bundle.key, pending);
    }
    return pending;
  }

  get loadedKeys(): string[] {
    return [...this.cache.keys()];
  }

  /** Summed model bytes of the loaded sessions (at most the bound, unless one model alone is bigger). */
  get loadedBytes(): number {
    return this.bytes;
  }

  clear(): void {
    this.cache.clear();
  }
}
