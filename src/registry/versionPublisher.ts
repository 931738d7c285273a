import { ConflictError } from '../errors';
import { sha256 } from '../storage/checksum';
import type { ObjectStore } from '../storage/objectStore';
import { PreconditionFailedError } from '../storage/errors';
import { METADATA_FILE, archiveKey } from './bucketLayout';
import type { VersionFiles } from './versionDescription';
import type { VersionDescription, VersionMetadata } from './versionMetadata';

export type { VersionFiles };

/** Upload progress of one file of a version. */
export interface PublishProgressEvent {
  file: string;
  sentBytes: number;
  totalBytes: number;
}

export interface PublishOptions {
  onProgress?: (event: PublishProgressEvent) => void;
  /** Files of at least this size go up as multipart uploads (progress per part). */
  multipartThresholdBytes?: number;
  partSizeBytes?: number;
  /**
   * On failure, delete the artifacts this call wrote (default) or keep them.
   * The API keeps them (its role may not delete): an unfinished upload is not
   * a version, and a retry accepts artifacts already holding its exact bytes.
   */
  onFailure?: 'delete' | 'keep';
}

const SAFE_FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._\-]{0,127}$/;

/**
 * Writes a version into `{model}/archive/{version}/` once: every artifact with
 * If-None-Match: * and the metadata (with each artifact's sha256 and size) LAST,
 * so a version without metadata.json is an unfinished upload, never a version.
 * If anything fails, the files this call wrote are deleted again; files someone
 * else wrote are never touched. Does not check that the model works: callers
 * that take versions from people use pushVersion (src/release), which validates
 * first.
 *
 * `metadata` may already carry `artifacts` (from describeVersion); they are
 * recomputed from `files` either way.
 */
export async function publishVersion(
  store: ObjectStore,
  model: string,
  version: string,
  files: VersionFiles,
  metadata: VersionDescription,
  opts: PublishOptions = {},
): Promise<VersionMetadata> {
  for (const name of Object.keys(files)) {
    if (!SAFE_FILE_NAME.test(name) || name.includes('..') || name === METADATA_FILE) {
      throw new Error(`publishVersion: "${name}" is not a version artifact name`);
    }
  }
  const artifacts: VersionMetadata['artifacts'] = {};
  for (const [name, bytes] of Object.entries(files)) artifacts[name] = { sha256: sha256(bytes), size: bytes.byteLength };
  const stored: VersionMetadata = { ...metadata, version, artifacts, published_at: new Date().toISOString() };
  const metadataKey = archiveKey(model, version, METADATA_FILE);
  const metadataBody = JSON.stringify(stored, null, 2);

  if (await store.head(metadataKey)) {
    throw new ConflictError(`${model} already has a version ${version}; versions are immutable — choose a new version name`, { model, version });
  }
  const written: string[] = [];
  let step: 'artifacts' | 'metadata' = 'artifacts';
  try {
    for (const [name, bytes] of Object.entries(files)) {
      const key = archiveKey(model, version, name);
      try {
        await store.upload(key, bytes, {
          ifNoneMatch: '*',
          contentType: name.endsWith('.json') ? 'application/json' : 'application/octet-stream',
          multipartThresholdBytes: opts.multipartThresholdBytes,
          partSizeBytes: opts.partSizeBytes,
          onProgress: (sentBytes, totalBytes) => opts.onProgress?.({ file: name, sentBytes, totalBytes }),
        });
      } catch (err) {
        // The key exists: with exactly these bytes it is this upload's own file (an
        // answer lost, or a kept unfinished attempt); otherwise somebody else's.
        if (!(err instanceof PreconditionFailedError) || (await landed(store, key, bytes)) !== 'yes') throw err;
        continue;
      }
      written.push(key);
    }
    step = 'metadata';
    await store.put(metadataKey, metadataBody, { ifNoneMatch: '*', contentType: 'application/json' });
  } catch (err) {
    // The metadata PUT may have reached S3 even though its answer did not reach
    // us (a reset connection, a timeout). Then the version IS published, and
    // deleting its artifacts would leave metadata pointing at nothing.
    // If we cannot tell, the artifacts stay: an unfinished upload is harmless
    // (it is not a version), a version without its files is not.
    // (A lost answer also shows as 412: the SDK's retry of our own PUT finds the key taken.)
    if (step === 'metadata') {
      const outcome = await landed(store, metadataKey, metadataBody);
      if (outcome === 'yes') return stored;
      if (outcome === 'unknown') throw err;
    }
    if (opts.onFailure !== 'keep') await Promise.all(written.map((k) => store.delete(k).catch(() => undefined)));
    if (err instanceof PreconditionFailedError) {
      throw new ConflictError(
        `${model}/archive/${version}/ already holds ${err.key.split('/').pop()} (another upload of this version, or an unfinished one); nothing was written`,
        { model, version },
        { cause: err },
      );
    }
    throw err;
  }
  return stored;
}

/** Whether `key` holds exactly `body` (our own write, whose answer was lost). */
async function landed(store: ObjectStore, key: string, body: string | Buffer): Promise<'yes' | 'no' | 'unknown'> {
  try {
    const got = await store.getIfExists(key);
    return got !== undefined && got.body.equals(Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8')) ? 'yes' : 'no';
  } catch {
    return 'unknown';
  }
}
