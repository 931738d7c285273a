import { createHash } from 'node:crypto';
import type { S3Client } from '@aws-sdk/client-s3';
import { IntegrityError } from '../errors';
import { ObjectNotFoundError, PreconditionFailedError, StorageUnavailableError } from './errors';
import { sdkReader, type ObjectReader, type ObjectReadResult } from './s3Reads';

type S3Sdk = typeof import('@aws-sdk/client-s3');

export interface StoredObject {
  body: Buffer;
  etag: string;
  /** sha256 (hex) of `body`, computed while it was downloaded. */
  sha256: string;
}

export interface PutOptions {
  /** Replace only if the current ETag equals this (compare-and-swap). */
  ifMatch?: string;
  /** `*`: create only if the key does not exist yet. */
  ifNoneMatch?: '*';
  contentType?: string;
}

/**
 * The conditions of a compare-and-swap write of a document read with ETag
 * `etag`: replace exactly that version (If-Match), or create the key when the
 * read found none (If-None-Match: *).
 */
export function replacing(etag: string | undefined): Pick<PutOptions, 'ifMatch' | 'ifNoneMatch'> {
  return etag ? { ifMatch: etag } : { ifNoneMatch: '*' };
}

export interface UploadOptions extends PutOptions {
  /** Bodies of at least this many bytes go up as a multipart upload (default 16 MiB). */
  multipartThresholdBytes?: number;
  /** Part size of a multipart upload (default 8 MiB; S3's minimum is 5 MiB). */
  partSizeBytes?: number;
  /** Called with the bytes stored so far: after each part, and once at the end. */
  onProgress?: (sentBytes: number, totalBytes: number) => void;
}

const MiB = 1024 * 1024;
/** Base of the jittered backoff before a GET whose body failed is sent again (the SDK's own base delay). */
const BODY_RETRY_BASE_MS = 100;
/** Parts of one multipart upload in flight at once. */
const PART_CONCURRENCY = 4;

/** Counts of requests this process sent, for metrics and tests. */
export interface StorageCounters {
  gets: number;
  notModified: number;
  puts: number;
  heads: number;
  lists: number;
  deletes: number;
  bytesIn: number;
}

/** One object of a listing. */
export interface ListedObject {
  key: string;
  size: number;
  lastModified: Date | null;
  /** The object's ETag as the listing reports it (the same value a GET answers). */
  etag?: string;
}

/** Result of a revalidating GET: the object did not change since `etag`. */
export const NOT_MODIFIED = Symbol('NOT_MODIFIED');

/**
 * The only code that talks to S3. Knows keys and bytes, nothing of models.
 * Every failure becomes one of: ObjectNotFoundError, PreconditionFailedError,
 * StorageUnavailableError (after the retries).
 *
 * Reads (GET, conditional and ranged GET, HEAD) go through an ObjectReader
 * (src/storage/s3Reads.ts: SigV4-signed node:http, or the SDK client); writes,
 * deletes and listings through the SDK client, which `client` may give lazily
 * so that a process that only reads never loads `@aws-sdk/client-s3`.
 */
export class ObjectStore {
  readonly counters: StorageCounters = { gets: 0, notModified: 0, puts: 0, heads: 0, lists: 0, deletes: 0, bytesIn: 0 };
  private readonly reader: ObjectReader;
  private sdkLoaded?: Promise<{ client: S3Client; s3: S3Sdk }>;

  constructor(
    private readonly client: S3Client | (() => Promise<S3Client>),
    readonly bucket: string,
    opts: { reader?: ObjectReader } = {},
  ) {
    this.reader = opts.reader ?? sdkReader(() => this.sdk());
  }

  /** How this store reads: `signed` (SigV4 over node:http) or `sdk` (the SDK client). */
  get readPath(): ObjectReader['kind'] {
    return this.reader.kind;
  }

  /** The SDK client and its commands: the one place writes, deletes and listings are built. */
  private sdk(): Promise<{ client: S3Client; s3: S3Sdk }> {
    this.sdkLoaded ??= (async () => {
      const [client, s3] = await Promise.all([
        typeof this.client === 'function' ? this.client() : this.client,
        import('@aws-sdk/client-s3'),
      ]);
      return { client, s3 };
    })();
    return this.sdkLoaded;
  }

  async get(key: string): Promise<StoredObject> {
    const result = await this.getIfChanged(key, undefined);
    if (result === NOT_MODIFIED) throw new Error('unreachable: GET without If-None-Match answered 304');
    return result;
  }

  /**
   * GET with If-None-Match: answers NOT_MODIFIED (S3 304) when `etag` is still current.
   *
   * The SDK retries a request until its response headers arrive; a body that is
   * cut short or stops arriving afterwards (reset, socket timeout, fewer bytes
   * than Content-Length) is retried here, with the same number of attempts and a
   * jittered backoff, and then becomes STORAGE_UNAVAILABLE. A partial body is
   * never returned.
   */
  async getIfChanged(key: string, etag: string | undefined): Promise<StoredObject | typeof NOT_MODIFIED> {
    const attempts = await this.reader.maxAttempts();
    for (let attempt = 1; ; attempt++) {
      this.counters.gets++;
      let out: ObjectReadResult;
      try {
        out = await this.reader.read(this.bucket, { method: 'GET', key, ifNoneMatch: etag });
      } catch (err) {
        if (status(err) === 304) {
          this.counters.notModified++;
          return NOT_MODIFIED;
        }
        throw translate(err, key);
      }
      try {
        const { body, sha256 } = await readBody(out.body!, out.contentLength);
        if (out.contentLength !== undefined && out.contentLength !== body.byteLength) {
          throw new StorageUnavailableError(
            `S3 returned ${body.byteLength} of ${out.contentLength} bytes for "${key}"`,
          );
        }
        this.counters.bytesIn += body.byteLength;
        return { body, etag: out.etag ?? '', sha256 };
      } catch (err) {
        if (attempt >= attempts) throw translate(err, key);
        await new Promise((resolve) => setTimeout(resolve, Math.random() * BODY_RETRY_BASE_MS * 2 ** attempt));
      }
    }
  }

  /**
   * GET of an immutable artifact whose sha256 and size are recorded elsewhere
   * (its version's metadata). The hash is taken while the bytes arrive; bytes
   * that do not match are never returned: INTEGRITY_ERROR.
   */
  async getVerified(key: string, expected: { sha256: string; size: number }): Promise<Buffer> {
    const got = await this.get(key);
    if (got.body.byteLength !== expected.size || got.sha256 !== expected.sha256) {
      throw new IntegrityError(`${key} does not match the sha256 recorded in its version's metadata`, {
        key,
        expectedSha256: expected.sha256,
        actualSha256: got.sha256,
      });
    }
    return got.body;
  }

  /** GET that answers undefined for a missing key. */
  async getIfExists(key: string): Promise<StoredObject | undefined> {
    try {
      return await this.get(key);
    } catch (err) {
      if (err instanceof ObjectNotFoundError) return undefined;
      throw err;
    }
  }

  /**
   * Bytes [start, end) of an object (a ranged GET), e.g. one row group of a
   * Parquet dataset. `etag` pins the object (If-Match): a range of another
   * version is never combined with this one's.
   */
  async getRange(key: string, start: number, end: number, etag?: string): Promise<Buffer> {
    this.counters.gets++;
    try {
      const out = await this.reader.read(this.bucket, {
        method: 'GET',
        key,
        range: `bytes=${start}-${end - 1}`,
        ifMatch: etag,
      });
      const { body } = await readBody(out.body!, out.contentLength);
      if (body.byteLength !== end - start)
        throw new StorageUnavailableError(`S3 returned ${body.byteLength} of ${end - start} bytes of "${key}"`);
      this.counters.bytesIn += body.byteLength;
      return body;
    } catch (err) {
      throw translate(err, key);
    }
  }

  async put(key: string, body: Buffer | string, opts: PutOptions = {}): Promise<{ etag: string }> {
    this.counters.puts++;
    try {
      const { client, s3 } = await this.sdk();
      const out = await client.send(
        new s3.PutObjectCommand({
          Bucket: this.bucket,
          Key: key,
          Body: body,
          ContentType: opts.contentType,
          IfMatch: opts.ifMatch,
          IfNoneMatch: opts.ifNoneMatch,
        }),
      );
      return { etag: out.ETag ?? '' };
    } catch (err) {
      throw translate(err, key);
    }
  }

  /**
   * Stores `body` at `key` with the same conditions as put(). Large bodies go up
   * as a multipart upload: each part is a buffer the SDK can retry on its own,
   * progress is known per part, and the conditions apply to
   * CompleteMultipartUpload, so the object appears whole or not at all. A failed
   * multipart upload is aborted (its parts are discarded).
   */
  async upload(key: string, body: Buffer, opts: UploadOptions = {}): Promise<{ etag: string }> {
    const threshold = opts.multipartThresholdBytes ?? 16 * MiB;
    const partSize = Math.max(5 * MiB, opts.partSizeBytes ?? 8 * MiB);
    if (body.byteLength < threshold || body.byteLength <= partSize) {
      const out = await this.put(key, body, opts);
      opts.onProgress?.(body.byteLength, body.byteLength);
      return out;
    }
    let uploadId: string | undefined;
    const { client, s3 } = await this.sdk();
    try {
      this.counters.puts++;
      const created = await client.send(
        new s3.CreateMultipartUploadCommand({ Bucket: this.bucket, Key: key, ContentType: opts.contentType }),
      );
      uploadId = created.UploadId!;
      const count = Math.ceil(body.byteLength / partSize);
      const etags: string[] = new Array(count);
      let sent = 0;
      let next = 0;
      const worker = async (): Promise<void> => {
        while (next < count) {
          const index = next++;
          const part = body.subarray(index * partSize, Math.min(body.byteLength, (index + 1) * partSize));
          this.counters.puts++;
          const out = await client.send(
            new s3.UploadPartCommand({
              Bucket: this.bucket,
              Key: key,
              UploadId: uploadId,
              PartNumber: index + 1,
              Body: part,
            }),
          );
          etags[index] = out.ETag ?? '';
          sent += part.byteLength;
          if (sent < body.byteLength) opts.onProgress?.(sent, body.byteLength);
        }
      };
      await Promise.all(Array.from({ length: Math.min(PART_CONCURRENCY, count) }, worker));
      this.counters.puts++;
      const done = await client.send(
        new s3.CompleteMultipartUploadCommand({
          Bucket: this.bucket,
          Key: key,
          UploadId: uploadId,
          MultipartUpload: { Parts: etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) },
          IfMatch: opts.ifMatch,
          IfNoneMatch: opts.ifNoneMatch,
        }),
      );
      opts.onProgress?.(body.byteLength, body.byteLength);
      return { etag: done.ETag ?? '' };
    } catch (err) {
      if (uploadId) {
        await client
          .send(new s3.AbortMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId }))
          .catch(() => undefined);
      }
      throw translate(err, key);
    }
  }

  async head(key: string): Promise<{ etag: string; size: number } | undefined> {
    this.counters.heads++;
    try {
      const out = await this.reader.read(this.bucket, { method: 'HEAD', key });
      return { etag: out.etag ?? '', size: out.contentLength ?? 0 };
    } catch (err) {
      const e = translate(err, key);
      if (e instanceof ObjectNotFoundError) return undefined;
      throw e;
    }
  }

  async delete(key: string): Promise<void> {
    try {
      const { client, s3 } = await this.sdk();
      await client.send(new s3.DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
    } catch (err) {
      throw translate(err, key);
    }
  }

  /**
   * Deletes `keys` with DeleteObjects, 1,000 keys per request. A key that is
   * already gone counts as deleted (S3 answers it so). Returns the keys S3 could
   * not delete; a request that fails throws.
   */
  async deleteMany(keys: readonly string[]): Promise<string[]> {
    const failed: string[] = [];
    for (let i = 0; i < keys.length; i += 1_000) {
      const batch = keys.slice(i, i + 1_000);
      this.counters.deletes++;
      try {
        const { client, s3 } = await this.sdk();
        const out = await client.send(
          new s3.DeleteObjectsCommand({
            Bucket: this.bucket,
            Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true },
          }),
        );
        for (const e of out.Errors ?? []) if (e.Key) failed.push(e.Key);
      } catch (err) {
        throw translate(err, batch[0]);
      }
    }
    return failed;
  }

  /** Whether any key starts with `prefix` (one ListObjectsV2 page of at most one key). */
  async hasKeysUnder(prefix: string): Promise<boolean> {
    this.counters.lists++;
    try {
      const { client, s3 } = await this.sdk();
      const out = await client.send(new s3.ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, MaxKeys: 1 }));
      return (out.KeyCount ?? out.Contents?.length ?? 0) > 0;
    } catch (err) {
      throw translate(err, prefix);
    }
  }

  /** Every key under `prefix`, following continuation tokens. */
  async listKeys(prefix: string): Promise<string[]> {
    return (await this.listObjects(prefix)).map((o) => o.key);
  }

  /**
   * Objects under `prefix` in key order, with size and last-modified time,
   * following continuation tokens; stops after `limit` objects (default: all).
   */
  async listObjects(prefix: string, opts: { limit?: number } = {}): Promise<ListedObject[]> {
    const limit = opts.limit ?? Number.POSITIVE_INFINITY;
    const objects: ListedObject[] = [];
    let token: string | undefined;
    do {
      this.counters.lists++;
      try {
        const { client, s3 } = await this.sdk();
        const out = await client.send(
          new s3.ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix: prefix,
            ContinuationToken: token,
            MaxKeys: Number.isFinite(limit) ? Math.min(1_000, limit - objects.length) : undefined,
          }),
        );
        for (const o of out.Contents ?? []) {
          if (o.Key && objects.length < limit)
            objects.push({ key: o.Key, size: o.Size ?? 0, lastModified: o.LastModified ?? null, etag: o.ETag });
        }
        token = out.IsTruncated && objects.length < limit ? out.NextContinuationToken : undefined;
      } catch (err) {
        throw translate(err, prefix);
      }
    } while (token);
    return objects;
  }

  /**
   * The "folders" directly under `prefix`, without the prefix and slash. Derived
   * from a plain listing rather than ListObjectsV2's Delimiter: s3rver prunes
   * nested directories when a delimiter is given and misses their common
   * prefixes, and a model folder holds few keys, so this costs the same on S3.
   */
  async listFolders(prefix: string): Promise<string[]> {
    const folders = new Set<string>();
    for (const key of await this.listKeys(prefix)) {
      const rest = key.slice(prefix.length);
      const slash = rest.indexOf('/');
      if (slash > 0) folders.add(rest.slice(0, slash));
    }
    return [...folders];
  }
}

/**
 * Reads a response body into one buffer (preallocated when the length is known,
 * so a 30 MB model is copied once) and hashes it while it arrives: the sha256
 * every artifact is checked against costs no extra pass over the bytes.
 */
async function readBody(
  stream: AsyncIterable<Uint8Array>,
  length: number | undefined,
): Promise<{ body: Buffer; sha256: string }> {
  const hash = createHash('sha256');
  if (length !== undefined) {
    const body = Buffer.allocUnsafe(length);
    let offset = 0;
    for await (const chunk of stream) {
      if (offset + chunk.byteLength > length)
        throw new StorageUnavailableError(`S3 sent more than the announced ${length} bytes`);
      body.set(chunk, offset);
      offset += chunk.byteLength;
      hash.update(chunk);
    }
    return { body: offset === length ? body : body.subarray(0, offset), sha256: hash.digest('hex') };
  }
  const chunks: Uint8Array[] = [];
  for await (const chunk of stream) {
    chunks.push(chunk);
    hash.update(chunk);
  }
  return { body: Buffer.concat(chunks), sha256: hash.digest('hex') };
}

function status(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
}

function translate(err: unknown, key: string): Error {
  const name = (err as { name?: string })?.name;
  const code = status(err);
  if (name === 'NoSuchKey' || name === 'NotFound' || code === 404) return new ObjectNotFoundError(key, { cause: err });
  if (name === 'PreconditionFailed' || name === 'ConditionalRequestConflict' || code === 412 || code === 409) {
    return new PreconditionFailedError(key, code ?? 412, { cause: err });
  }
  if (err instanceof StorageUnavailableError) return err;
  const reason = name ?? (err instanceof Error ? err.message : 'unknown error');
  return new StorageUnavailableError(`Model storage is unavailable (${reason})`, { cause: err });
}
