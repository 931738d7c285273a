import { LRUCache } from 'lru-cache';
import { InvalidModelError, ModelNotFoundError, UnknownAssetError, VersionNotFoundError } from '../errors';
import { NOT_MODIFIED, type ObjectStore } from '../storage/objectStore';
import { ObjectNotFoundError } from '../storage/errors';
import { AliasDocumentSchema, type AliasDocument } from './governanceRecords';
import { listAssets, parseAssetRegistry, type Asset, type AssetRegistryDocument } from './assetRegistry';
import {
  ALIASES_FOLDER,
  ASSET_REGISTRY_KEY,
  aliasKey,
  FEATURE_NAMES_FILE,
  METADATA_FILE,
  archiveKey,
  archivePrefix,
  stagePointerKey,
} from './bucketLayout';
import { MODEL_FAMILIES, modelTypeOf, type ModelType, type Stage } from './identifiers';
import {
  FeatureNamesSchema,
  parseJsonDocument,
  StagePointerSchema,
  VersionMetadataSchema,
  type StagePointer,
  type VersionMetadata,
} from './versionMetadata';

export interface RegistryOptions {
  /** How long a stage pointer or the asset registry is trusted before it is revalidated (If-None-Match). */
  pointerTtlMs: number;
  /** While S3 fails, how old a last-verified pointer may be and still be served. */
  maxStaleMs: number;
  /** How long a request waits for a due revalidation before it gets the last verified copy (default 500 ms). */
  revalidationWaitMs?: number;
}

const REVALIDATION_WAIT_MS = 500;

/** A JSON document as last seen in S3, with the ETag to revalidate or replace it. */
export interface Versioned<T> {
  value: T;
  etag: string;
}

interface CachedDocument<T> {
  doc: Versioned<T> | null;
  verifiedAt: number;
}

export interface AssetDirectory {
  document: Versioned<AssetRegistryDocument> | null;
  assets: Asset[];
  byTicker: Map<string, Asset>;
}

export interface ModelSummary {
  id: string;
  type: ModelType;
}

/**
 * The read side of the bucket: asset registry, stage pointers, version metadata
 * and listings, with the process-wide caches that make warm requests free.
 * Stage pointers and the registry are cached for `pointerTtlMs`, then revalidated
 * with a conditional GET (304 costs no body); while S3 fails or stalls, the last
 * verified copy is served for at most `maxStaleMs`. Version metadata is immutable
 * and cached for good.
 */
export class Registry {
  private readonly documents: LRUCache<string, CachedDocument<unknown>, void>;
  private readonly versions = new LRUCache<string, VersionMetadata>({ max: 10_000 });
  private readonly featureNameCache = new LRUCache<string, string[]>({ max: 1_000 });
  /** When the revalidation in flight for a document started. */
  private readonly revalidationsSince = new Map<string, number>();
  private directoryCache: { source: Versioned<AssetRegistryDocument> | null; directory: AssetDirectory } | undefined;

  constructor(
    readonly store: ObjectStore,
    private readonly opts: RegistryOptions,
  ) {
    this.documents = new LRUCache<string, CachedDocument<unknown>, void>({
      max: 10_000,
      ttl: Math.max(1, opts.pointerTtlMs),
      // Revalidation needs the stale entry's ETag, and a failed revalidation may
      // fall back to it (bounded by maxStaleMs in fetchDocument).
      allowStale: false,
      noDeleteOnFetchRejection: true,
      fetchMethod: (key, stale) => this.fetchDocument(key, stale),
    });
  }

  private async fetchDocument(
    key: string,
    stale: CachedDocument<unknown> | undefined,
  ): Promise<CachedDocument<unknown>> {
    this.revalidationsSince.set(key, Date.now());
    try {
      return await this.readDocument(key, stale);
    } finally {
      this.revalidationsSince.delete(key);
    }
  }

  private async readDocument(
    key: string,
    stale: CachedDocument<unknown> | undefined,
  ): Promise<CachedDocument<unknown>> {
    // A body that is not JSON (damaged, or hand-edited) is a typed INVALID_MODEL error like any other bad document.
    const parse = (body: Buffer): unknown =>
      key === ASSET_REGISTRY_KEY
        ? parseAssetRegistry(body)
        : key.includes(ALIASES_FOLDER)
          ? parseJsonDocument(AliasDocumentSchema, body, key)
          : parseJsonDocument(StagePointerSchema, body, key);
    try {
      const got = await this.store.getIfChanged(key, stale?.doc?.etag);
      if (got === NOT_MODIFIED) return { doc: stale!.doc, verifiedAt: Date.now() };
      return { doc: { value: parse(got.body), etag: got.etag }, verifiedAt: Date.now() };
    } catch (err) {
      if (err instanceof ObjectNotFoundError) return { doc: null, verifiedAt: Date.now() };
      if (stale && Date.now() - stale.verifiedAt <= this.opts.maxStaleMs) return stale;
      throw err;
    }
  }

  private async document<T>(key: string): Promise<Versioned<T> | null> {
    const status: LRUCache.Status<string, CachedDocument<unknown>, void> = {};
    const fetching = this.documents.fetch(key, { status }).catch((err: unknown) => {
      // This process wrote (noteWritten) or forgot the document while the read was in
      // flight: lru-cache aborts that read. Read again: the copy just set, or S3.
      if (aborted(err)) return this.documents.fetch(key);
      throw err;
    });
    // A slow revalidation (S3 stalling: up to attempts × request timeout) does not
    // hold requests that have a copy verified within maxStaleMs: after a short wait
    // they get that copy, and the revalidation carries on for the requests after them.
    const last =
      status.fetch === 'stale' || status.fetch === 'inflight'
        ? this.documents.peek(key, { allowStale: true })
        : undefined;
    let entry: CachedDocument<unknown> | undefined;
    if (last && Date.now() - last.verifiedAt <= this.opts.maxStaleMs) {
      const since = this.revalidationsSince.get(key) ?? Date.now();
      const wait = (this.opts.revalidationWaitMs ?? REVALIDATION_WAIT_MS) - (Date.now() - since);
      const settled = wait > 0 ? await settledWithin(fetching, wait) : undefined;
      entry = settled ? settled.value : last;
    } else {
      entry = await fetching;
    }
    return (entry?.doc ?? null) as Versioned<T> | null;
  }

  /** Record a document this process just wrote, so it serves it at once. */
  noteWritten<T>(key: string, doc: Versioned<T> | null): void {
    this.documents.set(key, { doc, verifiedAt: Date.now() });
  }

  /** Forget one cached document: the next read goes to S3. */
  forget(key: string): void {
    this.documents.delete(key);
  }

  /** Forget cached pointers and registry (tests, or after an external change). */
  invalidate(): void {
    this.documents.clear();
  }

  async assetRegistry(): Promise<Versioned<AssetRegistryDocument> | null> {
    return this.document<AssetRegistryDocument>(ASSET_REGISTRY_KEY);
  }

  async assetDirectory(): Promise<AssetDirectory> {
    const source = await this.assetRegistry();
    if (this.directoryCache && this.directoryCache.source === source) return this.directoryCache.directory;
    const assets = source ? listAssets(source.value) : [];
    const directory: AssetDirectory = { document: source, assets, byTicker: new Map(assets.map((a) => [a.ticker, a])) };
    this.directoryCache = { source, directory };
    return directory;
  }

  /** Routing: ticker → the asset and the model that serves it, or UNKNOWN_ASSET. */
  async resolveTicker(ticker: string): Promise<Asset> {
    const asset = (await this.assetDirectory()).byTicker.get(ticker);
    if (!asset) throw new UnknownAssetError(ticker);
    return asset;
  }

  async stagePointer(model: string, stage: Stage): Promise<Versioned<StagePointer> | null> {
    return this.document<StagePointer>(stagePointerKey(model, stage));
  }

  /** An alias document, cached and revalidated like a stage pointer (predict(…, alias:) reads it). */
  async aliasDocument(model: string, alias: string): Promise<Versioned<AliasDocument> | null> {
    return this.document<AliasDocument>(aliasKey(model, alias));
  }

  async versionMetadata(model: string, version: string): Promise<VersionMetadata> {
    const cacheKey = `${model}@${version}`;
    const cached = this.versions.get(cacheKey);
    if (cached) return cached;
    const key = archiveKey(model, version, METADATA_FILE);
    let body: Buffer;
    try {
      body = (await this.store.get(key)).body;
    } catch (err) {
      if (err instanceof ObjectNotFoundError) throw new VersionNotFoundError(model, version);
      throw err;
    }
    const meta = parseJsonDocument(VersionMetadataSchema, body, key);
    this.versions.set(cacheKey, meta);
    return meta;
  }

  /** A version's feature names (input column order), verified against its metadata's sha256. */
  async featureNames(model: string, metadata: VersionMetadata): Promise<string[]> {
    const cacheKey = `${model}@${metadata.version}`;
    const cached = this.featureNameCache.get(cacheKey);
    if (cached) return cached;
    const artifact = metadata.artifacts[FEATURE_NAMES_FILE];
    if (!artifact) throw new InvalidModelError(`${cacheKey} lists no ${FEATURE_NAMES_FILE}`);
    const key = archiveKey(model, metadata.version, FEATURE_NAMES_FILE);
    const body = await this.store.getVerified(key, artifact);
    const names = parseJsonDocument(FeatureNamesSchema, body, key);
    this.featureNameCache.set(cacheKey, names);
    return names;
  }

  /** Version folder names under `{model}/archive/`, oldest name first. */
  async listVersions(model: string): Promise<string[]> {
    const names = await this.store.listFolders(archivePrefix(model));
    return names.sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  }

  async modelExists(model: string): Promise<boolean> {
    if (await this.store.hasKeysUnder(`${model}/`)) return true;
    return (await this.assetDirectory()).assets.some((a) => a.modelId === model);
  }

  async requireModel(model: string): Promise<void> {
    if (!(await this.modelExists(model))) throw new ModelNotFoundError(model);
  }

  /** The model ids that have a folder in the bucket (reads no asset registry). */
  async modelFolderIds(): Promise<string[]> {
    const folders = await Promise.all(MODEL_FAMILIES.map((f) => this.store.listFolders(`${f}/`)));
    return MODEL_FAMILIES.flatMap((family, i) => folders[i].map((name) => `${family}/${name}`)).filter(
      (id) => modelTypeOf(id) !== undefined,
    );
  }

  /** Every model in the bucket (by folder), plus models the asset registry names. */
  async listModels(): Promise<ModelSummary[]> {
    const ids = new Set(await this.modelFolderIds());
    for (const a of (await this.assetDirectory()).assets) ids.add(a.modelId);
    return [...ids]
      .filter((id) => modelTypeOf(id) !== undefined)
      .sort()
      .map((id) => ({ id, type: modelTypeOf(id)! }));
  }
}

/** The reasons lru-cache aborts a fetch in flight with: the key was set, deleted or evicted meanwhile. */
function aborted(err: unknown): boolean {
  return err instanceof Error && (err.message === 'replaced' || err.message === 'deleted' || err.message === 'evicted');
}

/** `{ value }` if the promise settles within `ms` (rejecting if it rejects), else undefined. */
async function settledWithin<T>(promise: Promise<T>, ms: number): Promise<{ value: T } | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<undefined>((resolve) => {
    timer = setTimeout(resolve, ms, undefined);
  });
  try {
    return await Promise.race([promise.then((value) => ({ value })), late]);
  } finally {
    clearTimeout(timer);
  }
}
