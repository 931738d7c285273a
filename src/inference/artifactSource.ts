import { brotliDecompress, gunzip } from 'node:zlib';
import { promisify } from 'node:util';
import { IntegrityError } from '../errors';
import type { ObjectStore } from '../storage/objectStore';
import { sha256 } from '../storage/checksum';
import { tracePhase } from './loadTrace';

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
    const getStart = performance.now();
    const { body } = await this.store.get(expected.key);
    tracePhase('s3-get', expected.key, getStart);
    const checksumStart = performance.now();
    const actual = sha256(body);
    tracePhase('checksum', expected.key, checksumStart);
    if (body.byteLength !== expected.size || actual !== expected.sha256) {
      this.counters.integrityFailures++;
      throw new IntegrityError(`${expected.key} does not match the sha256 recorded in its version's metadata`, {
        key: expected.key,
        expectedSha256: expected.sha256,
        actualSha256: actual,
      });
    }
    if (this.disk) await this.disk.write(expected.sha256, body).catch(() => undefined);
    return body;
  }
}

const gunzipAsync = promisify(gunzip);
const brotliAsync = promisify(brotliDecompress);

/** model.onnx.gz / model.onnx.br are stored compressed for transfer; sessions need the raw bytes. */
export async function decompressModel(file: string, bytes: Buffer): Promise<Buffer> {
  if (file.endsWith('.gz')) return gunzipAsync(bytes);
  if (file.endsWith('.br')) return brotliAsync(bytes);
  return bytes;
}
