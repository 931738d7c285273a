import { ConflictError, InvalidModelError } from '../errors';
import { replacing, type ObjectStore } from '../storage/objectStore';
import { ObjectNotFoundError, PreconditionFailedError } from '../storage/errors';
import { METADATA_FILE, archiveKey } from './bucketLayout';
import { artifactsOf, type VersionFiles } from './versionDescription';
import { VersionMetadataSchema, type VersionDescription, type VersionMetadata } from './versionMetadata';

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

/** Fields of an uploaded metadata.json that only registration writes (registerVersion computes or records them). */
const REGISTRATION_FIELDS = ['artifacts', 'published_at', 'published_by', 'registered_at', 'registered_by'];

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
  checkArtifactNames(files);
  const artifacts = artifactsOf(files);
  const stored: VersionMetadata = { ...metadata, version, artifacts, published_at: new Date().toISOString() };
  if (await store.head(archiveKey(model, version, METADATA_FILE))) {
    throw new ConflictError(
      `${model} already has a version ${version}; versions are immutable — choose a new version name`,
      { model, version },
    );
  }
  await writeOnce(store, model, version, files, JSON.stringify(stored, null, 2), opts);
  return stored;
}

/**
 * Uploads a version folder's artifacts for the API to register
 * (registerVersion), the way another tool would: every artifact with
 * If-None-Match: *, and NO metadata.json — what describes the version is sent
 * with the registration, and only the API writes metadata.json (on AWS the
 * bucket policy refuses it to everyone else). Until the API registers it, it
 * is an unfinished upload, not a version. Uploading the same bytes again is
 * accepted (an earlier attempt whose registration failed); a registered
 * version is CONFLICT.
 */
export async function uploadVersion(
  store: ObjectStore,
  model: string,
  version: string,
  files: VersionFiles,
  opts: PublishOptions = {},
): Promise<void> {
  checkArtifactNames(files);
  await readUploadedMetadata(store, model, version); // CONFLICT when registered
  await writeOnce(store, model, version, files, null, opts);
}

/** The fields of a description that only registration may write (checksums, publisher, registration time) removed. */
export function withoutRegistrationFields(description: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(description).filter(([k]) => !REGISTRATION_FIELDS.includes(k)));
}

function checkArtifactNames(files: VersionFiles): void {
  for (const name of Object.keys(files)) {
    if (!SAFE_FILE_NAME.test(name) || name.includes('..') || name === METADATA_FILE) {
      throw new Error(`publishVersion: "${name}" is not a version artifact name`);
    }
  }
}

/** The artifacts (create-once, our own copies accepted), then `metadataBody` (if any) as metadata.json LAST; see publishVersion. */
async function writeOnce(
  store: ObjectStore,
  model: string,
  version: string,
  files: VersionFiles,
  metadataBody: string | null,
  opts: PublishOptions,
): Promise<void> {
  const metadataKey = archiveKey(model, version, METADATA_FILE);
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
        if (!(await isOwnCopy(store, key, bytes, err))) throw err;
        continue;
      }
      written.push(key);
    }
    if (metadataBody === null) return;
    step = 'metadata';
    await store.put(metadataKey, metadataBody, { ifNoneMatch: '*', contentType: 'application/json' });
  } catch (err) {
    // The metadata PUT may have reached S3 even though its answer did not reach
    // us (a reset connection, a timeout). Then the version IS published, and
    // deleting its artifacts would leave metadata pointing at nothing.
    // If we cannot tell, the artifacts stay: an unfinished upload is harmless
    // (it is not a version), a version without its files is not.
    // (A lost answer also shows as 412: the SDK's retry of our own PUT finds the key taken.)
    if (step === 'metadata' && metadataBody !== null) {
      const outcome = await landed(store, metadataKey, metadataBody);
      if (outcome === 'yes') return;
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
}

/**
 * Writes an artifact of a version being registered once (If-None-Match: *). A
 * key that exists with exactly these bytes is accepted (a retry, or a
 * concurrent registration of the same folder); other bytes are somebody
 * else's: the 412 is rethrown.
 */
export async function putArtifactOnce(store: ObjectStore, key: string, bytes: Buffer): Promise<void> {
  try {
    await store.put(key, bytes, {
      ifNoneMatch: '*',
      contentType: key.endsWith('.json') ? 'application/json' : 'application/octet-stream',
    });
  } catch (err) {
    if (!(await isOwnCopy(store, key, bytes, err))) throw err;
  }
}

/** A failed create-once write of `key` whose existing object holds exactly `bytes`: our own (an answer lost, a kept attempt). */
async function isOwnCopy(store: ObjectStore, key: string, bytes: Buffer, err: unknown): Promise<boolean> {
  return err instanceof PreconditionFailedError && (await landed(store, key, bytes)) === 'yes';
}

/** Whether `key` holds exactly `body` (our own write, whose answer was lost). */
async function landed(store: ObjectStore, key: string, body: string | Buffer): Promise<'yes' | 'no' | 'unknown'> {
  try {
    const got = await store.getIfExists(key);
    return got !== undefined && got.body.equals(Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8'))
      ? 'yes'
      : 'no';
  } catch {
    return 'unknown';
  }
}

/** A version folder's metadata.json as another tool uploaded it: not registered yet. */
export interface UploadedMetadata {
  /** Its fields (empty when there is no metadata.json). */
  fields: Record<string, unknown>;
  /** Its ETag, to replace it conditionally; undefined when there is none. */
  etag?: string;
}

/**
 * Reads `{model}/archive/{version}/metadata.json` before registering the folder
 * (registerVersion, an uploaded ensemble): absent is fine, a JSON object without
 * checksums is the uploader's description, a valid version metadata means the
 * version is registered already (CONFLICT: versions are immutable).
 */
export async function readUploadedMetadata(
  store: ObjectStore,
  model: string,
  version: string,
): Promise<UploadedMetadata> {
  const key = archiveKey(model, version, METADATA_FILE);
  const existing = await store.getIfExists(key);
  if (!existing) return { fields: {} };
  let raw: unknown;
  try {
    raw = JSON.parse(existing.body.toString('utf8'));
  } catch {
    throw new InvalidModelError(`${key} is not valid JSON`, { model, version });
  }
  if (VersionMetadataSchema.safeParse(raw).success)
    throw new ConflictError(`${model}@${version} is already registered; versions are immutable`, { model, version });
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new InvalidModelError(`${key} is not a JSON object`, { model, version });
  return { fields: raw as Record<string, unknown>, etag: existing.etag };
}

/**
 * Writes a registered version's metadata.json once: If-Match the uploaded one's
 * ETag, or If-None-Match: * when there was none. A lost answer (the SDK's retry
 * then fails its own precondition) is recognised by the stored bytes; anything
 * else is CONFLICT and changes nothing.
 */
export async function writeRegisteredMetadata(
  store: ObjectStore,
  model: string,
  version: string,
  metadata: VersionMetadata,
  uploaded: UploadedMetadata,
): Promise<void> {
  const key = archiveKey(model, version, METADATA_FILE);
  const body = JSON.stringify(metadata, null, 2);
  try {
    await store.put(key, body, { contentType: 'application/json', ...replacing(uploaded.etag) });
  } catch (err) {
    if (!(err instanceof PreconditionFailedError || err instanceof ObjectNotFoundError)) throw err;
    if ((await landed(store, key, body)) === 'yes') return;
    throw new ConflictError(
      `${key} changed while ${model}@${version} was being registered (registered concurrently?); nothing was changed`,
      { model, version },
      { cause: err },
    );
  }
}
