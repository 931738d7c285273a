/**
 * What the front reads and does in s3rver's store directly, while it holds the
 * keys' locks: a key's current object and its bucket's existence (for the
 * preconditions), and DeleteObjects, key by key.
 */
import type S3rver from 's3rver';

import { type CurrentObject, deleteVerdict, type StoredTarget } from './preconditions';
import { type DeleteObjectsRequest, escapeXml, isStorableKey, S3_ERROR_MESSAGES } from './s3Protocol';

type Store = S3rver['store'];

/** The key's object (ETag, Last-Modified), or undefined when there is none. */
export async function currentObject(store: Store, bucket: string, key: string): Promise<CurrentObject | undefined> {
  try {
    const meta = await store.getMetadata(bucket, key);
    return { etag: String(meta.etag), lastModified: new Date(meta['last-modified']) };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR') return undefined;
    throw err;
  }
}

/** The bucket's existence and the key's object, for a write's or delete's conditions. */
export async function storedTarget(store: Store, bucket: string, key: string): Promise<StoredTarget> {
  if (!(await store.getBucket(bucket))) return { bucketExists: false };
  return { bucketExists: true, object: await currentObject(store, bucket, key) };
}

/**
 * DeleteObjects in an existing bucket, one key at a time: s3rver deletes the
 * keys concurrently and its empty-directory cleanup then fails with ENOENT
 * (500) when two keys share a folder. Honours per-object <ETag> conditions
 * like S3. Resolves the DeleteResult document.
 */
export async function deleteEach(store: Store, bucket: string, request: DeleteObjectsRequest): Promise<string> {
  const parts: string[] = [];
  for (const { key, etag } of request.objects) {
    const error = (code: string, message: string) =>
      parts.push(
        `<Error><Key>${escapeXml(key)}</Key><Code>${code}</Code><Message>${escapeXml(message)}</Message></Error>`,
      );
    if (!isStorableKey(key)) {
      error('InvalidArgument', S3_ERROR_MESSAGES.UnstorableKey);
      continue;
    }
    if (etag !== undefined) {
      const object = await currentObject(store, bucket, key);
      const verdict = deleteVerdict({ ifMatch: etag }, { bucketExists: true, object });
      if (verdict.outcome === 'noSuchKey') {
        error('NoSuchKey', S3_ERROR_MESSAGES.NoSuchKey);
        continue;
      }
      if (verdict.outcome !== 'proceed') {
        error('PreconditionFailed', S3_ERROR_MESSAGES.PreconditionFailed);
        continue;
      }
    }
    try {
      if (await store.existsObject(bucket, key)) await store.deleteObject(bucket, key);
      if (!request.quiet) parts.push(`<Deleted><Key>${escapeXml(key)}</Key></Deleted>`);
    } catch (err) {
      error('InternalError', err instanceof Error ? err.message : String(err));
    }
  }
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    `<DeleteResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${parts.join('')}</DeleteResult>`
  );
}
