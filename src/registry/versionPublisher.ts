import { ConflictError } from '../errors';
import { sha256 } from '../storage/checksum';
import type { ObjectStore } from '../storage/objectStore';
import { PreconditionFailedError } from '../storage/errors';
import { METADATA_FILE, archiveKey } from './bucketLayout';
import type { VersionDescription, VersionMetadata } from './versionMetadata';

/** The files of one version folder, by file name (model.onnx[.gz|.br], feature_names.json, …). */
export type VersionFiles = Record<string, Buffer>;

export interface PublishProgress {
  (file: string, bytes: number): void;
}

/**
 * Writes a version into `{model}/archive/{version}/` once: every artifact with
 * If-None-Match: * and the metadata (with each artifact's sha256 and size) LAST,
 * so a version without metadata.json is an unfinished upload, never a version.
 * If anything fails, the files this call wrote are deleted again; files someone
 * else wrote are never touched.
 */
export async function publishVersion(
  store: ObjectStore,
  model: string,
  version: string,
  files: VersionFiles,
  metadata: VersionDescription,
  onProgress?: PublishProgress,
): Promise<VersionMetadata> {
  const artifacts: VersionMetadata['artifacts'] = {};
  for (const [name, bytes] of Object.entries(files)) artifacts[name] = { sha256: sha256(bytes), size: bytes.byteLength };
  const stored: VersionMetadata = { ...metadata, version, artifacts };

  if (await store.head(archiveKey(model, version, METADATA_FILE))) {
    throw new ConflictError(`${model} already has a version ${version}; versions are immutable — choose a new version name`, { model, version });
  }
  const written: string[] = [];
  try {
    for (const [name, bytes] of Object.entries(files)) {
      const key = archiveKey(model, version, name);
      await store.put(key, bytes, { ifNoneMatch: '*', contentType: name.endsWith('.json') ? 'application/json' : 'application/octet-stream' });
      written.push(key);
      onProgress?.(name, bytes.byteLength);
    }
    const key = archiveKey(model, version, METADATA_FILE);
    await store.put(key, JSON.stringify(stored, null, 2), { ifNoneMatch: '*', contentType: 'application/json' });
  } catch (err) {
    await Promise.all(written.map((k) => store.delete(k).catch(() => undefined)));
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
