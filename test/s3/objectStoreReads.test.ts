import { createHash, createHmac } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import type { IncomingHttpHeaders } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { EMBEDDED_S3_CREDENTIALS } from '../../src/local/s3/credentials';
import { startEmbeddedS3, type EmbeddedS3 } from '../../src/local/s3/embeddedS3';
import { ObjectNotFoundError, StorageUnavailableError } from '../../src/storage/errors';
import { NOT_MODIFIED, ObjectStore } from '../../src/storage/objectStore';
import { createS3Client } from '../../src/storage/s3Client';
import { signedReader } from '../../src/storage/s3Reads';
import { READ_PATHS } from '../support/stack';

/**
 * ObjectStore's reads against the embedded S3 server (real protocol, injected faults), once through each
 * reader: signed node:http (SigV4 by @smithy/signature-v4) and the SDK client. Both must answer alike.
 */
const BUCKET = 'reads';
const MAX_ATTEMPTS = 3;
const TIMEOUT_MS = 300;

let tmpRoot: string;
let s3: EmbeddedS3;

beforeAll(async () => {
  tmpRoot = await mkdtemp(path.join(os.tmpdir(), 'object-store-reads-'));
  s3 = await startEmbeddedS3({ dataDir: path.join(tmpRoot, 'data') });
  await s3.ensureBucket(BUCKET);
});
afterAll(async () => {
  await s3?.close();
  await rm(tmpRoot, { recursive: true, force: true });
});

function storeFor(
  readPath: (typeof READ_PATHS)[number],
  credentials: { accessKeyId: string; secretAccessKey: string } = EMBEDDED_S3_CREDENTIALS,
): ObjectStore {
  const connection = {
    region: 'us-east-1',
    endpoint: s3.endpoint,
    forcePathStyle: true,
    credentials,
    maxAttempts: MAX_ATTEMPTS,
    connectionTimeoutMs: TIMEOUT_MS,
    requestTimeoutMs: TIMEOUT_MS,
  };
  return new ObjectStore(createS3Client(connection), BUCKET, {
    reader: readPath === 'signed' ? signedReader(connection) : undefined,
  });
}

describe.each(READ_PATHS)('ObjectStore reads (%s)', (readPath) => {
  let store: ObjectStore;
  const gets = (key: string) => s3.requests().filter((r) => r.method === 'GET' && r.key === key);

  beforeAll(() => {
    store = storeFor(readPath);
    expect(store.readPath).toBe(readPath);
  });
  beforeEach(() => {
    s3.clearFaults();
    s3.resetRequests();
  });

  it('GET answers the bytes, their ETag and sha256; keys with spaces, pluses and unicode are signed and found', async () => {
    for (const key of ['plain/a.json', 'odd keys/a b+c=d&e (1)!.json', 'unicode/é ü 日本.json']) {
      // Prepare
      const { etag } = await store.put(key, `{"key":${JSON.stringify(key)}}`);
      // Act
      const got = await store.get(key);
      // Assess
      expect(got.body.toString()).toBe(`{"key":${JSON.stringify(key)}}`);
      expect(got.etag).toBe(etag);
      expect(got.sha256).toMatch(/^[0-9a-f]{64}$/);
    }
  });

  it('GET with If-None-Match answers NOT_MODIFIED for the current ETag, the new bytes after a change', async () => {
    const { etag } = await store.put('cond/pointer.json', '{"v":1}');
    expect(await store.getIfChanged('cond/pointer.json', etag)).toBe(NOT_MODIFIED);
    expect(store.counters.notModified).toBeGreaterThan(0);
    await store.put('cond/pointer.json', '{"v":2}');
    const changed = await store.getIfChanged('cond/pointer.json', etag);
    expect(changed === NOT_MODIFIED ? 'not modified' : changed.body.toString()).toBe('{"v":2}');
    expect(gets('cond/pointer.json').map((r) => r.status)).toEqual([304, 200]);
  });

  it('a missing key is ObjectNotFoundError on GET and undefined on HEAD; HEAD answers ETag and size', async () => {
    await expect(store.get('missing/nothing.json')).rejects.toBeInstanceOf(ObjectNotFoundError);
    expect(await store.getIfExists('missing/nothing.json')).toBeUndefined();
    expect(await store.head('missing/nothing.json')).toBeUndefined();
    const { etag } = await store.put('head/here.bin', Buffer.alloc(1234, 7));
    expect(await store.head('head/here.bin')).toEqual({ etag, size: 1234 });
  });

  it('a ranged GET answers exactly the bytes asked for; pinned to another ETag it is refused', async () => {
    const bytes = Buffer.from(Array.from({ length: 1000 }, (_, i) => i % 251));
    const { etag } = await store.put('range/data.bin', bytes);
    expect(await store.getRange('range/data.bin', 100, 350, etag)).toEqual(bytes.subarray(100, 350));
    await expect(store.getRange('range/data.bin', 0, 10, '"not-the-etag"')).rejects.toThrow();
  });

  it('retries 503 S3_MAX_ATTEMPTS times, then StorageUnavailableError; transient 500s are absorbed', async () => {
    await store.put('faults/a.json', '{}');
    s3.injectFault({ match: (r) => r.key === 'faults/a.json' && r.method === 'GET', kind: 'status', status: 503 });
    await expect(store.get('faults/a.json')).rejects.toBeInstanceOf(StorageUnavailableError);
    expect(gets('faults/a.json').map((r) => r.status)).toEqual(Array(MAX_ATTEMPTS).fill(503));

    s3.clearFaults();
    s3.resetRequests();
    s3.injectFault({
      match: (r) => r.key === 'faults/a.json' && r.method === 'GET',
      kind: 'status',
      status: 500,
      times: MAX_ATTEMPTS - 1,
    });
    expect((await store.get('faults/a.json')).body.toString()).toBe('{}');
    expect(gets('faults/a.json').map((r) => r.status)).toEqual([...Array(MAX_ATTEMPTS - 1).fill(500), 200]);
  });

  it('a stalled S3 ends in StorageUnavailableError after S3_MAX_ATTEMPTS timed-out attempts', async () => {
    await store.put('faults/stall.json', '{}');
    s3.injectFault({ match: (r) => r.key === 'faults/stall.json' && r.method === 'GET', kind: 'stall' });
    await expect(store.get('faults/stall.json')).rejects.toBeInstanceOf(StorageUnavailableError);
    expect(gets('faults/stall.json').map((r) => r.fault)).toEqual(Array(MAX_ATTEMPTS).fill('stall'));
  });

  it('a truncated body is retried and never returned; a reset is retried', async () => {
    const body = Buffer.alloc(64 * 1024, 3);
    await store.put('faults/big.bin', body);
    const match = (r: { key: string; method: string }) => r.key === 'faults/big.bin' && r.method === 'GET';
    s3.injectFault({ match, kind: 'truncate', times: 1 });
    expect((await store.get('faults/big.bin')).body).toEqual(body);
    s3.injectFault({ match, kind: 'reset', times: 1 });
    expect((await store.get('faults/big.bin')).body).toEqual(body);
    s3.injectFault({ match, kind: 'truncate' });
    await expect(store.get('faults/big.bin')).rejects.toBeInstanceOf(StorageUnavailableError);
  });
});

/** SigV4 recomputed here, independently of @smithy/signature-v4 (s3rver checks only the access key of a V4 request). */
function expectedSignature(
  req: { method: string; path: string; headers: IncomingHttpHeaders },
  secret: string,
): string {
  const auth = String(req.headers.authorization);
  const [, date, region] = /Credential=[^/]+\/(\d{8})\/([^/]+)\/s3\/aws4_request/.exec(auth)!;
  const signedHeaders = /SignedHeaders=([^,]+)/.exec(auth)![1];
  const canonicalHeaders = signedHeaders
    .split(';')
    .map((h) => `${h}:${String(req.headers[h]).trim()}\n`)
    .join('');
  const canonical = [req.method, req.path, '', canonicalHeaders, signedHeaders, req.headers['x-amz-content-sha256']];
  const hash = (x: string) => createHash('sha256').update(x).digest('hex');
  const stringToSign = [
    'AWS4-HMAC-SHA256',
    req.headers['x-amz-date'],
    `${date}/${region}/s3/aws4_request`,
    hash(canonical.join('\n')),
  ].join('\n');
  const hmac = (key: string | Buffer, x: string) => createHmac('sha256', key).update(x).digest();
  let key = hmac(`AWS4${secret}`, date);
  for (const part of [region, 's3', 'aws4_request']) key = hmac(key, part);
  return createHmac('sha256', key).update(stringToSign).digest('hex');
}

describe('signed reads', () => {
  it('carry a SigV4 signature that an independent computation over the request as sent reproduces', async () => {
    // Prepare: record the requests' headers as the server sees them
    const store = storeFor('signed');
    const key = 'sig/a b+c (d)!é.json';
    const { etag } = await store.put(key, '{}');
    const seen: Array<{ method: string; headers: IncomingHttpHeaders }> = [];
    s3.injectFault({
      match: (r) => {
        if (r.key === key) seen.push({ method: r.method, headers: r.headers });
        return false;
      },
      kind: 'status',
    });
    // Act
    await store.get(key);
    await store.getIfChanged(key, etag);
    await store.head(key);
    // Assess
    const path = `/${BUCKET}/${key
      .split('/')
      .map((s) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`))
      .join('/')}`;
    expect(seen.map((r) => r.method)).toEqual(['GET', 'GET', 'HEAD']);
    for (const r of seen) {
      const signature = /Signature=([0-9a-f]{64})/.exec(String(r.headers.authorization))?.[1];
      expect(signature).toBe(expectedSignature({ ...r, path }, EMBEDDED_S3_CREDENTIALS.secretAccessKey));
    }
    expect(String(seen[1].headers.authorization)).toContain('if-none-match');
  });

  it('with an unknown access key are refused (403) as StorageUnavailableError, without retries', async () => {
    // Prepare
    const good = storeFor('signed');
    await good.put('auth/a.json', '{}');
    const bad = storeFor('signed', { accessKeyId: 'NOT-A-KEY', secretAccessKey: 'wrong' });
    s3.resetRequests();
    // Act
    const err = await bad.get('auth/a.json').catch((e: unknown) => e);
    // Assess
    expect(err).toBeInstanceOf(StorageUnavailableError);
    expect(
      s3
        .requests()
        .filter((r) => r.key === 'auth/a.json')
        .map((r) => r.status),
    ).toEqual([403]);
  });
});
