import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';

import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { type EmbeddedS3, embeddedS3ClientConfig, startEmbeddedS3 } from '../../src/local/s3/embeddedS3';
import { FRONT_KEEP_ALIVE_TIMEOUT_MS } from '../../src/local/s3/frontServer';

const BUCKET = 'models';

let tmpRoot: string;
let server: EmbeddedS3;
let s3: S3Client;

function client(extra: Partial<S3ClientConfig> = {}): S3Client {
  return new S3Client({ ...embeddedS3ClientConfig(server.endpoint), ...extra });
}

async function put(key: string, body: string | Buffer, extra: Record<string, unknown> = {}): Promise<string> {
  const out = await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body, ...extra }));
  return out.ETag!;
}

async function getText(key: string, c: S3Client = s3): Promise<string> {
  const out = await c.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  return out.Body!.transformToString();
}

async function getBytes(key: string, c: S3Client = s3): Promise<Buffer> {
  const out = await c.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  return Buffer.from(await out.Body!.transformToByteArray());
}

/** The error a promise rejects with (fails the test if it resolves). */
async function failure(
  p: Promise<unknown>,
): Promise<{ name: string; $metadata?: { httpStatusCode?: number; attempts?: number } }> {
  try {
    await p;
  } catch (err) {
    return err as { name: string; $metadata?: { httpStatusCode?: number } };
  }
  throw new Error('expected the request to fail');
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** Resolves once `condition` holds (checked every 10 ms); the test's own timeout bounds the wait. */
async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((r) => setTimeout(r, 10));
}

beforeAll(async () => {
  tmpRoot = await mkdtemp(path.join(os.tmpdir(), 'embedded-s3-test-'));
  server = await startEmbeddedS3({ dataDir: path.join(tmpRoot, 'data') });
  await server.ensureBucket(BUCKET);
  s3 = client();
});

afterAll(async () => {
  s3?.destroy();
  await server?.close();
  await rm(tmpRoot, { recursive: true, force: true });
});

afterEach(() => {
  server.clearFaults();
});

describe('embedded S3 basics', () => {
  it('listens on 127.0.0.1 and round-trips put/get/head/list/copy/delete', async () => {
    // Prepare
    const body = JSON.stringify({ version: '1.0.0' });

    // Act
    const etag = await put('basics/a.json', body, { ContentType: 'application/json', Metadata: { owner: 'ml' } });
    const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'basics/a.json' }));
    const text = await got.Body!.transformToString();
    const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'basics/a.json' }));
    const copy = await s3.send(
      new CopyObjectCommand({ Bucket: BUCKET, Key: 'basics/b.json', CopySource: `${BUCKET}/basics/a.json` }),
    );
    const copied = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'basics/b.json' }));
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'basics/' }));
    await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'basics/a.json' }));
    const afterDelete = await failure(s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'basics/a.json' })));

    // Assess
    expect(server.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(server.endpoint).toBe(`http://127.0.0.1:${server.port}`);
    expect(etag).toBe(`"${createHash('md5').update(body).digest('hex')}"`);
    expect(text).toBe(body);
    expect(got.ETag).toBe(etag);
    expect(got.ContentType).toBe('application/json');
    expect(got.Metadata).toEqual({ owner: 'ml' });
    expect(head.ContentLength).toBe(Buffer.byteLength(body));
    expect(head.ETag).toBe(etag);
    expect(copy.CopyObjectResult?.ETag).toBe(etag);
    expect(copied.ContentType).toBe('application/json');
    expect(copied.Metadata).toEqual({ owner: 'ml' });
    expect(listed.Contents?.map((o) => [o.Key, o.ETag, o.Size])).toEqual([
      ['basics/a.json', etag, Buffer.byteLength(body)],
      ['basics/b.json', etag, Buffer.byteLength(body)],
    ]);
    expect(afterDelete.$metadata?.httpStatusCode).toBe(404);
  });

  it('ensureBucket is idempotent and rejects invalid names', async () => {
    // Prepare / Act
    await server.ensureBucket('second-bucket');
    await server.ensureBucket('second-bucket');
    await s3.send(new PutObjectCommand({ Bucket: 'second-bucket', Key: 'k', Body: 'v' }));

    // Assess
    expect(
      await s3
        .send(new GetObjectCommand({ Bucket: 'second-bucket', Key: 'k' }))
        .then((o) => o.Body!.transformToString()),
    ).toBe('v');
    await expect(server.ensureBucket('../escape')).rejects.toThrow(/invalid S3 bucket name/);
  });

  it('round-trips a 5 MB Buffer and a streamed upload byte-identical', async () => {
    // Prepare
    const data = randomBytes(5 * 1024 * 1024 + 123);
    const stream = Readable.from([
      data.subarray(0, 1_000_000),
      data.subarray(1_000_000, 3_000_000),
      data.subarray(3_000_000),
    ]);

    // Act
    await put('big/buffer.bin', data);
    await s3.send(
      new PutObjectCommand({ Bucket: BUCKET, Key: 'big/stream.bin', Body: stream, ContentLength: data.length }),
    );
    const fromBuffer = await getBytes('big/buffer.bin');
    const fromStream = await getBytes('big/stream.bin');

    // Assess
    expect(fromBuffer.length).toBe(data.length);
    expect(sha256(fromBuffer)).toBe(sha256(data));
    expect(fromStream.length).toBe(data.length);
    expect(sha256(fromStream)).toBe(sha256(data));
  });

  it("stores the right bytes even with the SDK's default (aws-chunked, CRC32) checksums", async () => {
    // Prepare
    const {
      requestChecksumCalculation: _req,
      responseChecksumValidation: _res,
      ...defaults
    } = embeddedS3ClientConfig(server.endpoint);
    const sdkDefaults = new S3Client(defaults);
    const data = randomBytes(2 * 1024 * 1024 + 5);

    // Act
    await sdkDefaults.send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: 'chunked/stream.bin',
        Body: Readable.from([data]),
        ContentLength: data.length,
      }),
    );
    const got = await getBytes('chunked/stream.bin', sdkDefaults);
    const head = await sdkDefaults.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'chunked/stream.bin' }));
    sdkDefaults.destroy();

    // Assess
    expect(sha256(got)).toBe(sha256(data));
    expect(head.ContentEncoding).toBeUndefined();
  });

  it('rejects a body whose Content-MD5 does not match (400 BadDigest)', async () => {
    // Prepare
    const wrongMd5 = createHash('md5').update('something else').digest('base64');

    // Act
    const err = await failure(put('digest/x.txt', 'payload', { ContentMD5: wrongMd5 }));
    const missing = await failure(s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'digest/x.txt' })));

    // Assess
    expect(err.name).toBe('BadDigest');
    expect(err.$metadata?.httpStatusCode).toBe(400);
    expect(missing.$metadata?.httpStatusCode).toBe(404);
  });

  it('refuses keys with . or .. path segments instead of writing outside the data directory', async () => {
    // Prepare / Act
    const res = await rawRequest('PUT', `/${BUCKET}/a/%2E%2E/%2E%2E/%2E%2E/escape.txt`, Buffer.from('x'));

    // Assess
    expect(res.status).toBe(400);
    expect(res.body).toContain('<Code>InvalidArgument</Code>');
  });
});

describe('conditional reads', () => {
  it('GET/HEAD If-None-Match with the current ETag → 304 (quoted or unquoted)', async () => {
    // Prepare
    const etag = await put('cond/read.json', '{"a":1}');

    // Act
    const quoted = await failure(
      s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'cond/read.json', IfNoneMatch: etag })),
    );
    const unquoted = await failure(
      s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'cond/read.json', IfNoneMatch: etag.replace(/"/g, '') })),
    );
    const head = await failure(
      s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'cond/read.json', IfNoneMatch: etag })),
    );
    const changed = await s3.send(
      new GetObjectCommand({ Bucket: BUCKET, Key: 'cond/read.json', IfNoneMatch: '"0000"' }),
    );

    // Assess
    // A 304 has no body, so the SDK cannot name the error (real S3 gives the same 'Unknown'):
    // callers must check $metadata.httpStatusCode === 304.
    for (const err of [quoted, unquoted, head]) {
      expect(err.$metadata?.httpStatusCode).toBe(304);
      expect(['NotModified', 'Unknown', '304']).toContain(err.name);
    }
    expect(await changed.Body!.transformToString()).toBe('{"a":1}');
    expect(server.requests().filter((r) => r.key === 'cond/read.json' && r.status === 304)).toHaveLength(3);
  });

  it('GET If-Match / If-Unmodified-Since → 412, If-Modified-Since → 304', async () => {
    // Prepare
    const etag = await put('cond/read2.json', 'x');
    const past = new Date(Date.now() - 3_600_000);
    const future = new Date(Date.now() + 3_600_000);

    // Act
    const wrongMatch = await failure(
      s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'cond/read2.json', IfMatch: '"nope"' })),
    );
    const rightMatch = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'cond/read2.json', IfMatch: etag }));
    const unmodified = await failure(
      s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'cond/read2.json', IfUnmodifiedSince: past })),
    );
    const notModified = await failure(
      s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'cond/read2.json', IfModifiedSince: future })),
    );
    const modified = await s3.send(
      new GetObjectCommand({ Bucket: BUCKET, Key: 'cond/read2.json', IfModifiedSince: past }),
    );

    // Assess
    expect(wrongMatch.name).toBe('PreconditionFailed');
    expect(wrongMatch.$metadata?.httpStatusCode).toBe(412);
    expect(await rightMatch.Body!.transformToString()).toBe('x');
    expect(unmodified.$metadata?.httpStatusCode).toBe(412);
    expect(notModified.$metadata?.httpStatusCode).toBe(304);
    expect(await modified.Body!.transformToString()).toBe('x');
  });
});

describe('conditional writes', () => {
  it('PutObject If-None-Match: * creates a missing key and fails with 412 on an existing one', async () => {
    // Prepare
    const key = 'cas/create.json';

    // Act
    const created = await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: 'first', IfNoneMatch: '*' }));
    const second = await failure(
      s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: 'second', IfNoneMatch: '*' })),
    );

    // Assess
    expect(created.ETag).toMatch(/^"[0-9a-f]{32}"$/);
    expect(second.name).toBe('PreconditionFailed');
    expect(second.$metadata?.httpStatusCode).toBe(412);
    expect(await getText(key)).toBe('first');
  });

  it('PutObject If-Match: 404 on a missing key, 412 on a wrong ETag, 200 with a new ETag on the right one', async () => {
    // Prepare
    const key = 'cas/replace.json';
    const first = await put(key, 'v1');

    // Act
    const missing = await failure(
      s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'cas/nope.json', Body: 'x', IfMatch: first })),
    );
    const wrong = await failure(
      s3.send(
        new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: 'v2', IfMatch: '"0123456789abcdef0123456789abcdef"' }),
      ),
    );
    const unquoted = await s3.send(
      new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: 'v2', IfMatch: first.replace(/"/g, '') }),
    );
    const stale = await failure(
      s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: 'v3', IfMatch: first })),
    );

    // Assess
    expect(missing.name).toBe('NoSuchKey');
    expect(missing.$metadata?.httpStatusCode).toBe(404);
    expect(wrong.name).toBe('PreconditionFailed');
    expect(wrong.$metadata?.httpStatusCode).toBe(412);
    expect(unquoted.ETag).toMatch(/^"[0-9a-f]{32}"$/);
    expect(unquoted.ETag).not.toBe(first);
    expect(stale.$metadata?.httpStatusCode).toBe(412);
    expect(await getText(key)).toBe('v2');
    await expect(
      failure(s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'cas/nope.json' }))),
    ).resolves.toMatchObject({
      $metadata: { httpStatusCode: 404 },
    });
  });

  it('PutObject If-None-Match with an ETag (not *) is NotImplemented, like S3', async () => {
    // Prepare
    const etag = await put('cas/inm-etag.json', 'v1');

    // Act
    const err = await failure(
      s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'cas/inm-etag.json', Body: 'v2', IfNoneMatch: etag })),
    );

    // Assess
    expect(err.$metadata?.httpStatusCode).toBe(501);
    expect(await getText('cas/inm-etag.json')).toBe('v1');
  });

  it('of 20 concurrent If-Match puts with the same ETag exactly one wins', async () => {
    // Prepare
    const key = 'cas/pointer.json';
    const previous = await put(key, JSON.stringify({ version: 'v0' }));
    const bodies = Array.from({ length: 20 }, (_, i) => JSON.stringify({ version: `v${i + 1}` }));

    // Act
    const results = await Promise.allSettled(
      bodies.map((body) => s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body, IfMatch: previous }))),
    );

    // Assess
    const won = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
    const lost = results.flatMap((r) =>
      r.status === 'rejected' ? [r.reason as { name: string; $metadata: { httpStatusCode: number } }] : [],
    );
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(19);
    for (const err of lost) {
      expect(err.name).toBe('PreconditionFailed');
      expect(err.$metadata.httpStatusCode).toBe(412);
    }
    expect(await getText(key)).toBe(bodies[won[0]]);
    const winnerEtag = (results[won[0]] as PromiseFulfilledResult<{ ETag?: string }>).value.ETag;
    expect((await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }))).ETag).toBe(winnerEtag);
  });

  it('of 20 concurrent If-None-Match: * puts of a new key exactly one wins', async () => {
    // Prepare
    const key = 'cas/new-version/metadata.json';
    const bodies = Array.from({ length: 20 }, (_, i) => `writer-${i}`);

    // Act
    const results = await Promise.allSettled(
      bodies.map((body) => s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body, IfNoneMatch: '*' }))),
    );

    // Assess
    const won = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
    expect(won).toHaveLength(1);
    for (const r of results) {
      if (r.status === 'rejected') expect((r.reason as { name: string }).name).toBe('PreconditionFailed');
    }
    expect(await getText(key)).toBe(bodies[won[0]]);
  });

  it('CopyObject honours If-None-Match and x-amz-copy-source-if-match', async () => {
    // Prepare
    const srcEtag = await put('copy/src.json', 'source');
    await put('copy/existing.json', 'existing');

    // Act
    const overExisting = await failure(
      s3.send(
        new CopyObjectCommand({
          Bucket: BUCKET,
          Key: 'copy/existing.json',
          CopySource: `${BUCKET}/copy/src.json`,
          IfNoneMatch: '*',
        }),
      ),
    );
    const staleSource = await failure(
      s3.send(
        new CopyObjectCommand({
          Bucket: BUCKET,
          Key: 'copy/new.json',
          CopySource: `${BUCKET}/copy/src.json`,
          CopySourceIfMatch: '"abc"',
        }),
      ),
    );
    const ok = await s3.send(
      new CopyObjectCommand({
        Bucket: BUCKET,
        Key: 'copy/new.json',
        CopySource: `${BUCKET}/copy/src.json`,
        CopySourceIfMatch: srcEtag,
        IfNoneMatch: '*',
      }),
    );

    // Assess
    expect(overExisting.$metadata?.httpStatusCode).toBe(412);
    expect(await getText('copy/existing.json')).toBe('existing');
    expect(staleSource.name).toBe('PreconditionFailed');
    expect(ok.CopyObjectResult?.ETag).toBe(srcEtag);
    expect(await getText('copy/new.json')).toBe('source');
  });

  it('DeleteObject If-Match: 412 on a wrong ETag, 404 on a missing key, deletes on the right one', async () => {
    // Prepare
    const etag = await put('del/x.json', 'x');

    // Act
    const wrong = await failure(
      s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'del/x.json', IfMatch: '"abc"' })),
    );
    const missing = await failure(
      s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'del/missing.json', IfMatch: '*' })),
    );
    const stillThere = await getText('del/x.json');
    await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'del/x.json', IfMatch: etag }));
    const gone = await failure(s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'del/x.json' })));

    // Assess
    expect(wrong.name).toBe('PreconditionFailed');
    expect(missing.name).toBe('NoSuchKey');
    expect(stillThere).toBe('x');
    expect(gone.$metadata?.httpStatusCode).toBe(404);
  });
});

describe('multi-object operations', () => {
  it('DeleteObjects deletes keys sharing a folder (s3rver alone fails with 500) and honours per-object ETags', async () => {
    // Prepare
    const etagA = await put('batch/dir/a.json', 'a');
    await put('batch/dir/b.json', 'b');
    await put('batch/dir/c.json', 'c');
    await put('batch/dir/keep.json', 'keep');
    const noRetry = client({ maxAttempts: 1 });

    // Act
    const out = await noRetry.send(
      new DeleteObjectsCommand({
        Bucket: BUCKET,
        Delete: {
          Objects: [
            { Key: 'batch/dir/a.json', ETag: etagA },
            { Key: 'batch/dir/b.json' },
            { Key: 'batch/dir/c.json' },
            { Key: 'batch/dir/keep.json', ETag: '"0000"' },
          ],
        },
      }),
    );
    const left = await noRetry.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'batch/' }));
    noRetry.destroy();

    // Assess
    expect(out.Deleted?.map((d) => d.Key).sort()).toEqual(['batch/dir/a.json', 'batch/dir/b.json', 'batch/dir/c.json']);
    expect(out.Errors?.map((e) => [e.Key, e.Code])).toEqual([['batch/dir/keep.json', 'PreconditionFailed']]);
    expect(left.Contents?.map((o) => o.Key)).toEqual(['batch/dir/keep.json']);
  });

  it('CompleteMultipartUpload honours If-None-Match: *', async () => {
    // Prepare
    const key = 'multipart/model.onnx';
    const part1 = randomBytes(5 * 1024 * 1024);
    const part2 = randomBytes(1000);
    const upload = async (parts: Buffer[]) => {
      const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: key }));
      const done = await Promise.all(
        parts.map((Body, i) =>
          s3.send(new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId, PartNumber: i + 1, Body })),
        ),
      );
      return s3.send(
        new CompleteMultipartUploadCommand({
          Bucket: BUCKET,
          Key: key,
          UploadId,
          IfNoneMatch: '*',
          MultipartUpload: { Parts: done.map((p, i) => ({ PartNumber: i + 1, ETag: p.ETag })) },
        }),
      );
    };

    // Act
    await upload([part1, part2]);
    const second = await failure(upload([part2]));
    const got = await getBytes(key);

    // Assess
    expect(second.name).toBe('PreconditionFailed');
    expect(sha256(got)).toBe(sha256(Buffer.concat([part1, part2])));
  });
});

describe('atomic writes', () => {
  it('a client that aborts mid-upload leaves the previous object intact', async () => {
    // Prepare
    await put('atomic/aborted.bin', 'previous');

    // Act
    await new Promise<void>((resolve) => {
      const req = http.request(`${server.endpoint}/${BUCKET}/atomic/aborted.bin`, {
        method: 'PUT',
        headers: { 'content-length': '100000' },
      });
      req.on('error', () => resolve());
      req.write(Buffer.alloc(40_000, 1), () => setTimeout(() => req.destroy(), 50));
    });
    await new Promise((r) => setTimeout(r, 100));

    // Assess
    expect(await getText('atomic/aborted.bin')).toBe('previous');
  });

  it('readers never see a half-written object while it is being replaced', async () => {
    // Prepare
    const a = randomBytes(2 * 1024 * 1024);
    const b = randomBytes(2 * 1024 * 1024);
    const allowed = new Set([sha256(a), sha256(b)]);
    await put('atomic/model.onnx', a);

    // Act
    const writes = (async () => {
      for (let i = 0; i < 8; i++) await put('atomic/model.onnx', i % 2 ? a : b);
    })();
    const reads = Promise.all(Array.from({ length: 24 }, () => getBytes('atomic/model.onnx')));
    const [, got] = await Promise.all([writes, reads]);

    // Assess
    for (const body of got) expect(allowed.has(sha256(body))).toBe(true);
  });
});

describe('request log', () => {
  it('records method, bucket, key, query, status, conditional headers and bytes in order', async () => {
    // Prepare
    await put('log/etfs/SMH/model.onnx', 'onnx-bytes');
    server.resetRequests();

    // Act
    const etag = await put('log/etfs/SMH/metadata.json', '{}');
    await getText('log/etfs/SMH/model.onnx');
    await getText('log/etfs/SMH/model.onnx');
    await failure(
      s3.send(
        new PutObjectCommand({ Bucket: BUCKET, Key: 'log/etfs/SMH/metadata.json', Body: '{}', IfNoneMatch: '*' }),
      ),
    );
    await s3.send(
      new PutObjectCommand({ Bucket: BUCKET, Key: 'log/etfs/SMH/metadata.json', Body: '{"v":2}', IfMatch: etag }),
    );
    await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'log/' }));
    const log = server.requests();

    // Assess
    expect(log.map((r) => [r.method, r.bucket, r.key, r.status])).toEqual([
      ['PUT', BUCKET, 'log/etfs/SMH/metadata.json', 200],
      ['GET', BUCKET, 'log/etfs/SMH/model.onnx', 200],
      ['GET', BUCKET, 'log/etfs/SMH/model.onnx', 200],
      ['PUT', BUCKET, 'log/etfs/SMH/metadata.json', 412],
      ['PUT', BUCKET, 'log/etfs/SMH/metadata.json', 200],
      ['GET', BUCKET, '', 200],
    ]);
    expect(log[1].bytesOut).toBe('onnx-bytes'.length);
    expect(log[0].bytesIn).toBe(2);
    expect(log[3].ifNoneMatch).toBe('*');
    expect(log[4].ifMatch).toBe(etag);
    expect(log[5].query).toContain('list-type=2');
    expect(log.map((r) => r.seq)).toEqual([...log.map((r) => r.seq)].sort((x, y) => x - y));
    expect(server.count({ method: 'GET', keySuffix: 'model.onnx' })).toBe(2);
    expect(server.count({ method: 'put', bucket: BUCKET, keyPrefix: 'log/etfs/' })).toBe(3);
    expect(server.count({ status: 412 })).toBe(1);

    log[0].status = 999; // requests() returns a copy
    expect(server.requests()[0].status).toBe(200);
    server.resetRequests();
    expect(server.requests()).toEqual([]);
  });
});

describe('fault injection', () => {
  it("'status' 503 fails a client without retries with ServiceUnavailable", async () => {
    // Prepare
    await put('faults/status.json', 'ok');
    const noRetry = client({ maxAttempts: 1 });
    server.injectFault({
      match: (r) => r.method === 'GET' && r.key === 'faults/status.json',
      kind: 'status',
      status: 503,
    });

    // Act
    const err = await failure(getText('faults/status.json', noRetry));
    noRetry.destroy();

    // Assess
    expect(err.name).toBe('ServiceUnavailable');
    expect(err.$metadata?.httpStatusCode).toBe(503);
    expect(
      server
        .requests()
        .filter((r) => r.key === 'faults/status.json' && r.method === 'GET')
        .at(-1),
    ).toMatchObject({
      status: 503,
      fault: 'status',
    });
  });

  it("'status' 500 twice is retried by the SDK (visible in the log) and then succeeds", async () => {
    // Prepare
    await put('faults/retried.json', 'eventually');
    server.resetRequests();
    server.injectFault({ match: (r) => r.key === 'faults/retried.json', kind: 'status', status: 500, times: 2 });

    // Act
    const text = await getText('faults/retried.json');

    // Assess
    expect(text).toBe('eventually');
    expect(server.requests().map((r) => r.status)).toEqual([500, 500, 200]);
  });

  it("'reset' destroys the connection (and the request is not forwarded)", async () => {
    // Prepare
    await put('faults/reset.json', 'before');
    const noRetry = client({ maxAttempts: 1 });
    server.injectFault({ match: (r) => r.method === 'PUT' && r.key === 'faults/reset.json', kind: 'reset', times: 1 });

    // Act
    const err = await failure(
      noRetry.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'faults/reset.json', Body: 'after' })),
    );
    noRetry.destroy();

    // Assess
    expect(err.$metadata?.httpStatusCode).toBeUndefined();
    expect(await getText('faults/reset.json')).toBe('before');
  });

  it("'stall' never answers until cleared; clearFaults lets a stalled request proceed", async () => {
    // Prepare
    await put('faults/stall.json', 'slow');
    server.injectFault({ match: (r) => r.key === 'faults/stall.json', kind: 'stall' });
    const noRetry = client({ maxAttempts: 1 });

    // Act
    const timedOut = await failure(
      noRetry.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'faults/stall.json' }), {
        abortSignal: AbortSignal.timeout(300),
      }),
    );
    const before = server.count({ key: 'faults/stall.json' });
    const pending = getText('faults/stall.json', noRetry);
    await until(() => server.count({ key: 'faults/stall.json' }) > before);
    const stalledRecord = server
      .requests()
      .filter((r) => r.key === 'faults/stall.json')
      .at(-1);
    server.clearFaults();
    const released = await pending;
    noRetry.destroy();

    // Assess
    expect(timedOut.name).toMatch(/Abort|Timeout/);
    expect(stalledRecord).toMatchObject({ status: 0, fault: 'stall' });
    expect(released).toBe('slow');
  });

  it("'truncate' sends the full Content-Length but half the body, then closes", async () => {
    // Prepare
    const data = randomBytes(256 * 1024);
    await put('faults/model.onnx', data);
    server.injectFault({
      match: (r) => r.method === 'GET' && r.key.endsWith('model.onnx'),
      kind: 'truncate',
      times: 1,
    });
    const noRetry = client({ maxAttempts: 1 });

    // Act
    const err = await failure(getBytes('faults/model.onnx', noRetry));
    const after = await getBytes('faults/model.onnx', noRetry);
    noRetry.destroy();

    // Assess
    expect(err).toBeInstanceOf(Error);
    const rec = server
      .requests()
      .filter((r) => r.key === 'faults/model.onnx' && r.fault === 'truncate')
      .at(-1);
    expect(rec?.bytesOut).toBe(data.length / 2);
    expect(sha256(after)).toBe(sha256(data));
  });

  it("'truncate' on a PUT applies the write but the client never gets the answer", async () => {
    // Prepare
    await put('faults/lost-answer.json', 'v1');
    server.injectFault({
      match: (r) => r.method === 'PUT' && r.key === 'faults/lost-answer.json',
      kind: 'truncate',
      times: 1,
    });
    const noRetry = client({ maxAttempts: 1 });

    // Act
    const err = await failure(
      noRetry.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'faults/lost-answer.json', Body: 'v2' })),
    );
    noRetry.destroy();

    // Assess
    expect(err.$metadata?.httpStatusCode).toBeUndefined();
    expect(await getText('faults/lost-answer.json')).toBe('v2');
  });

  it("'corrupt' flips bytes of the body but keeps its length and ETag", async () => {
    // Prepare
    const data = randomBytes(64 * 1024);
    const etag = await put('faults/corrupt.bin', data);
    server.injectFault({ match: (r) => r.key === 'faults/corrupt.bin', kind: 'corrupt', times: 1 });

    // Act
    const out = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'faults/corrupt.bin' }));
    const corrupted = Buffer.from(await out.Body!.transformToByteArray());
    const clean = await getBytes('faults/corrupt.bin');

    // Assess
    expect(out.ETag).toBe(etag);
    expect(corrupted.length).toBe(data.length);
    expect(sha256(corrupted)).not.toBe(sha256(data));
    expect(sha256(clean)).toBe(sha256(data));
  });
});

describe('pagination', () => {
  it('lists more than 1000 keys with ContinuationToken', async () => {
    // Prepare
    await server.ensureBucket('paging');
    const keys = Array.from({ length: 1105 }, (_, i) => `archive/v${String(i).padStart(5, '0')}.json`);
    for (let i = 0; i < keys.length; i += 100) {
      await Promise.all(
        keys.slice(i, i + 100).map((Key) => s3.send(new PutObjectCommand({ Bucket: 'paging', Key, Body: Key }))),
      );
    }

    // Act
    const pages: string[][] = [];
    let token: string | undefined;
    do {
      const page = await s3.send(
        new ListObjectsV2Command({ Bucket: 'paging', Prefix: 'archive/', ContinuationToken: token }),
      );
      pages.push((page.Contents ?? []).map((o) => o.Key!));
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);

    // Assess
    expect(pages.map((p) => p.length)).toEqual([1000, 105]);
    expect(pages.flat()).toEqual(keys);
  });
});

describe('lifecycle', () => {
  it('keeps data across close + restart on the same dataDir', async () => {
    // Prepare
    const dataDir = path.join(tmpRoot, 'restart');
    const first = await startEmbeddedS3({ dataDir });
    await first.ensureBucket('persist');
    const c1 = new S3Client(embeddedS3ClientConfig(first.endpoint));
    const etag = (
      await c1.send(
        new PutObjectCommand({ Bucket: 'persist', Key: 'production/metadata.json', Body: '{"version":"3"}' }),
      )
    ).ETag;
    c1.destroy();

    // Act
    await first.close();
    const second = await startEmbeddedS3({ dataDir });
    const c2 = new S3Client(embeddedS3ClientConfig(second.endpoint));
    const got = await c2.send(new GetObjectCommand({ Bucket: 'persist', Key: 'production/metadata.json' }));
    const text = await got.Body!.transformToString();
    const cas = await failure(
      c2.send(
        new PutObjectCommand({ Bucket: 'persist', Key: 'production/metadata.json', Body: 'x', IfNoneMatch: '*' }),
      ),
    );
    c2.destroy();
    await second.close();

    // Assess
    expect(text).toBe('{"version":"3"}');
    expect(got.ETag).toBe(etag);
    expect(cas.name).toBe('PreconditionFailed');
  });

  it('close() is prompt even with kept-alive client connections, and can be repeated', async () => {
    // Prepare
    const instance = await startEmbeddedS3({ dataDir: path.join(tmpRoot, 'close') });
    await instance.ensureBucket('bucket-one');
    const c = new S3Client(embeddedS3ClientConfig(instance.endpoint));
    await c.send(new PutObjectCommand({ Bucket: 'bucket-one', Key: 'k', Body: 'v' }));
    await c.send(new GetObjectCommand({ Bucket: 'bucket-one', Key: 'k' })).then((o) => o.Body!.transformToString());
    instance.injectFault({ match: (r) => r.key === 'stalled', kind: 'stall' });
    const stalled = c.send(new GetObjectCommand({ Bucket: 'bucket-one', Key: 'stalled' })).catch((e: unknown) => e);
    await until(() => instance.count({ key: 'stalled' }) === 1);

    // Act: close() must not wait for the kept-alive connection to idle out (nor for the stalled
    // request); the bound is a quarter of the front's keep-alive timeout, not a guess at machine speed.
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      (async () => {
        await instance.close();
        await instance.close();
        return 'closed';
      })(),
      new Promise<string>((resolve) => {
        timer = setTimeout(() => resolve('still closing'), FRONT_KEEP_ALIVE_TIMEOUT_MS / 4);
      }),
    ]);
    clearTimeout(timer);

    // Assess
    expect(outcome).toBe('closed');
    expect(await stalled).toBeInstanceOf(Error); // destroyed, never answered
    c.destroy();
    expect(instance.requests().find((r) => r.key === 'stalled')).toMatchObject({ status: 0, fault: 'stall' });
    await expect(rawRequestTo(instance.endpoint, 'GET', '/bucket-one/k')).rejects.toThrow();
  });

  it('fails at start-up with a clear message when DES is unavailable (no --openssl-legacy-provider)', () => {
    // Prepare
    const script = `
      import(${JSON.stringify(path.resolve('src/local/s3/embeddedS3.ts'))})
        .then((m) => m.startEmbeddedS3({ dataDir: ${JSON.stringify(path.join(tmpRoot, 'no-des'))} }))
        .then(async (s) => { await s.close(); console.log('STARTED'); })
        .catch((e) => { console.log(e.message); process.exit(3); });`;
    const env = { ...process.env };
    delete env.NODE_OPTIONS;

    // Act
    const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: process.cwd(),
      env,
      encoding: 'utf8',
      timeout: 30_000,
    });

    // Assess
    expect(child.status).toBe(3);
    expect(child.stdout).toContain('--openssl-legacy-provider');
  });
});

async function rawRequest(method: string, urlPath: string, body?: Buffer): Promise<{ status: number; body: string }> {
  return rawRequestTo(server.endpoint, method, urlPath, body);
}

function rawRequestTo(
  endpoint: string,
  method: string,
  urlPath: string,
  body?: Buffer,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    // host/port/path options (not a URL string): WHATWG URL parsing would resolve %2E%2E segments
    const { hostname, port } = new URL(endpoint);
    const req = http.request({ hostname, port, path: urlPath, method, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}
