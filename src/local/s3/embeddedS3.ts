/**
 * Embedded S3-compatible server for the local server (`npm start`), the
 * integration tests and the benchmarks.
 *
 * s3rver (in-process, 127.0.0.1, ephemeral internal port, files in `dataDir`)
 * does the storage; a small node:http front server on the public port forwards
 * every request to it and adds what s3rver lacks so that the project's
 * compare-and-swap logic is proven against S3's protocol, not a mock:
 *
 *  - conditional writes like S3: PUT / CopyObject / CompleteMultipartUpload
 *    with `If-None-Match: *` (412 if the key exists) or `If-Match: <etag>`
 *    (404 NoSuchKey if missing, 412 if the ETag differs), DELETE with
 *    If-Match; conditional GET/HEAD (If-Match, If-None-Match,
 *    If-Modified-Since, If-Unmodified-Since → 412/304, quoted or unquoted
 *    ETags) and CopyObject's x-amz-copy-source-if-* conditions;
 *  - atomic writes: request bodies are received completely before anything is
 *    forwarded (a client that aborts mid-upload never leaves a partial
 *    object), and every key has a fair reader/writer lock — writes are
 *    exclusive ("check precondition → write → wait for s3rver's answer" is one
 *    step, so of N concurrent If-Match PUTs exactly one wins) and a reader never
 *    sees s3rver's in-place rewrite of a file half done;
 *  - aws-chunked uploads decoded and Content-MD5 / x-amz-checksum-* verified
 *    (400 BadDigest), so even the SDK's default checksum mode stores the right
 *    bytes (prefer {@link embeddedS3ClientConfig} anyway);
 *  - a request log and fault injection for reliability tests.
 *
 * s3rver encrypts ListObjectsV2 continuation tokens with DES, which Node ≥ 17
 * offers only with `--openssl-legacy-provider`; start-up fails clearly
 * without it.
 *
 * Where each part lives: frontServer.ts (the request pipeline: log, fault,
 * read, lock, verdict, forward), preconditions.ts (the conditional-request
 * rules, pure), locks.ts (the locks and which ones each operation takes),
 * faults.ts (fault injection and stalling), payload.ts (aws-chunked and
 * checksums), s3rverStore.ts (reads of s3rver's store, DeleteObjects),
 * requestLog.ts, s3Protocol.ts (addressing, classification, XML) and
 * credentials.ts.
 */
import { createCipheriv } from 'node:crypto';
import { mkdir } from 'node:fs/promises';

import type { S3ClientConfig } from '@aws-sdk/client-s3';
import S3rver from 's3rver';

import { EMBEDDED_S3_CREDENTIALS } from './credentials';
import type { FaultSpec } from './faults';
import { FrontServer } from './frontServer';
import type { S3RequestFilter, S3RequestRecord } from './requestLog';

export type { FaultKind, FaultSpec, S3RequestInfo } from './faults';
export type { S3RequestFilter, S3RequestRecord } from './requestLog';

export interface EmbeddedS3Options {
  /** Directory holding the buckets; created if missing; survives restarts. */
  dataDir: string;
  /** Public port; 0 (default) = ephemeral. */
  port?: number;
  /** Address to listen on; default 127.0.0.1. */
  host?: string;
  /** s3rver logging; default true (silent). Pass false to see s3rver's log. */
  silent?: boolean;
  /** Most recent requests kept in the request log (default 100 000; up to a tenth more between trims). */
  requestLogLimit?: number;
}

export interface EmbeddedS3 {
  /** http://127.0.0.1:PORT */
  endpoint: string;
  port: number;
  /** Creates the bucket if it does not exist (directly in the store; not logged). */
  ensureBucket(name: string): Promise<void>;
  /** A copy of the request log. */
  requests(): S3RequestRecord[];
  resetRequests(): void;
  /** Number of logged requests matching all given fields (method compared case-insensitively). */
  count(filter: S3RequestFilter): number;
  injectFault(f: FaultSpec): void;
  /** Removes all faults and lets stalled requests proceed. */
  clearFaults(): void;
  /** Closes both servers and every connection; stalled requests are destroyed. */
  close(): Promise<void>;
}

/** S3 client settings for talking to the embedded server. */
export function embeddedS3ClientConfig(endpoint: string): S3ClientConfig {
  return {
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: EMBEDDED_S3_CREDENTIALS,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  };
}

/** Throws unless this process can use DES (needed by s3rver's ListObjectsV2 pagination). */
export function assertDesAvailable(): void {
  try {
    createCipheriv('des', Buffer.alloc(8, 1), Buffer.alloc(8, 2));
  } catch (err) {
    throw new Error(
      'The embedded S3 server (s3rver) needs the DES cipher for ListObjectsV2 continuation tokens, ' +
        'which Node >= 17 only provides with the OpenSSL legacy provider. Run node with ' +
        '--openssl-legacy-provider (e.g. NODE_OPTIONS=--openssl-legacy-provider npm start, or ' +
        '`node --openssl-legacy-provider …`). Cause: ' +
        (err instanceof Error ? err.message : String(err)),
    );
  }
}

export async function startEmbeddedS3(opts: EmbeddedS3Options): Promise<EmbeddedS3> {
  assertDesAvailable();
  await mkdir(opts.dataDir, { recursive: true });
  const backend = new S3rver({
    address: '127.0.0.1',
    port: 0,
    directory: opts.dataDir,
    silent: opts.silent ?? true,
    resetOnClose: false,
  });
  const { port: backendPort } = await backend.run();
  // The front's keep-alive agent is s3rver's only client: never let s3rver close an idle
  // connection under it (close() ends them all).
  if (backend.httpServer) backend.httpServer.keepAliveTimeout = 0;
  const front = new FrontServer(backend, backendPort, opts.requestLogLimit ?? 100_000);
  try {
    const address = await front.listen(opts.port ?? 0, opts.host ?? '127.0.0.1');
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    return {
      endpoint: `http://${host}:${address.port}`,
      port: address.port,
      ensureBucket: (name) => front.ensureBucket(name),
      requests: () => front.log.copy(),
      resetRequests: () => front.log.reset(),
      count: (filter) => front.log.count(filter),
      injectFault: (f) => front.injectFault(f),
      clearFaults: () => front.clearFaults(),
      close: () => front.close(),
    };
  } catch (err) {
    await front.close();
    throw err;
  }
}
