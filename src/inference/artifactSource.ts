import { brotliDecompress, gunzip } from 'node:zlib';
import { promisify } from 'node:util';
import { IntegrityError } from '../errors';
import type { ObjectStore } from '../storage/objectStore';
import { tracePhase } from './loadTrace';

/** A what-if build (`--variant disk-write-after-download`) writes the disk cache only once the bytes are in. */
declare const __MODELGRAPH_DISK_WRITE_AFTER_DOWNLOAD__: boolean | undefined;
const prepareDiskWrites = !(
  typeof __MODELGRAPH_DISK_WRITE_AFTER_DOWNLOAD__ === 'boolean' && __MODELGRAPH_DISK_WRITE_AFTER_DOWNLOAD__
);

export interface ExpectedArtifact {
  key: string;
  sha256: string;
  size: number;
}

/** A second cache level between S3 and memory (e.g. Lambda's /tmp), content-addressed by sha256. */
export interface ArtifactDiskCache {
  /** The verified bytes for this sha256, or undefined (a corrupt entry is dropped). */
  read(sha256: string, size: number): Promise<Buffer | undefined>;
  write(sha256: string, bytes: Buffer): Promise<void>;
  /**
   * Readies the entry while its bytes download (optional): `commit` then stores them
   * without waiting on the file system first, `abandon` when they never come.
   */
  prepare?(sha256: string, size: number): PreparedWrite | undefined;
}

/** A disk-cache entry made ready before its bytes arrive (ArtifactDiskCache.prepare). */
export interface PreparedWrite {
  /** Stores the verified bytes; resolves when they are in place (never rejects). */
  commit(bytes: Buffer): Promise<void>;
  /** The bytes will not come (the download failed): the prepared file is removed. */
  abandon(): void;
}

export interface ArtifactCounters {
  s3Fetches: number;
  diskHits: number;
  integrityFailures: number;
}

/**
 * Fetches immutable version artifacts and proves them against the sha256 in
 * the version's metadata: from the disk cache if present there, else from S3.
 * Bytes that do not match are never returned (INTEGRITY_ERROR).
 */
export class ArtifactSource {
  readonly counters: ArtifactCounters = { s3Fetches: 0, diskHits: 0, integrityFailures: 0 };

  constructor(
    private readonly store: ObjectStore,
    private readonly disk?: ArtifactDiskCache,
  ) {}

  async fetch(expected: ExpectedArtifact): Promise<Buffer> {
    if (this.disk) {
      const diskStart = performance.now();
      const cached = await this.disk.read(expected.sha256, expected.size).catch(() => undefined);
      tracePhase('disk-read', expected.key, diskStart);
      if (cached) {
        this.counters.diskHits++;
        return cached;
      }
    }
    this.counters.s3Fetches++;
    // The disk entry is readied while the GET runs, so the verified bytes go to disk at
    // once and the write overlaps session creation instead of following it.
    const prepared = prepareDiskWrites ? this.disk?.prepare?.(expected.sha256, expected.size) : undefined;
    const getStart = performance.now();
    let body: Buffer;
    try {
      body = await this.store.getVerified(expected.key, expected);
    } catch (err) {
      prepared?.abandon();
      if (err instanceof IntegrityError) this.counters.integrityFailures++;
      throw err;
    }
    tracePhase('s3-get', expected.key, getStart);
    if (this.disk) {
      // Off the critical path: the write overlaps session creation; ModelCache
      // awaits settleWrites() before it reports a load as done.
      const write: Promise<void> = (prepared ? prepared.commit(body) : this.disk.write(expected.sha256, body)).catch(
        () => undefined,
      );
      this.pendingWrites.add(write);
      void write.finally(() => this.pendingWrites.delete(write));
    }
    return body;
  }

  private readonly pendingWrites = new Set<Promise<void>>();

  /** Resolves when every disk-cache write started so far has finished (or failed, which is harmless). */
  async settleWrites(): Promise<void> {
    await Promise.all([...this.pendingWrites]);
  }
}

const gunzipAsync = promisify(gunzip);
const brotliAsync = promisify(brotliDecompress);

/** model.onnx.gz / model.onnx.br are stored compressed for transfer; sessions need the raw bytes. */
/** No model decompresses to more than this: a gzip or brotli bomb fails instead of exhausting memory. */
export const MAX_DECOMPRESSED_MODEL_BYTES = 2 * 1024 ** 3 - 1;

export async function decompressModel(
  file: string,
  bytes: Buffer,
  maxOutputLength = MAX_DECOMPRESSED_MODEL_BYTES,
): Promise<Buffer> {
  if (file.endsWith('.gz')) return gunzipAsync(bytes, { maxOutputLength });
  if (file.endsWith('.br')) return brotliAsync(bytes, { maxOutputLength });
  return bytes;
}
