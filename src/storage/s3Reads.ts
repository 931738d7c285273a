import { createHash, createHmac, type BinaryLike } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { createRequire } from 'node:module';
import { SignatureV4 } from '@smithy/signature-v4';
import type { S3Client } from '@aws-sdk/client-s3';

/**
 * The one place that builds S3 read requests: every GET, conditional GET
 * (If-None-Match / If-Match), ranged GET and HEAD of ObjectStore is described
 * once as an ObjectRead and sent by one of two readers behind one interface:
 *
 *  - signedReader: the request signed with the SDK's own `@smithy/signature-v4`
 *    and sent with node:http(s) over a keep-alive agent. Importing it costs a
 *    few milliseconds; `@aws-sdk/client-s3` costs ≈ 40 ms of a cold start
 *    (docs/benchmarks.md), and a first prediction needs nothing but reads.
 *  - sdkReader: the same request as a GetObjectCommand / HeadObjectCommand of
 *    the SDK client, for credentials only the SDK's provider chain can find
 *    (profiles, SSO: the CLI) and as the A/B baseline (S3_READ_PATH=sdk).
 *
 * Both answer the same way: headers and a body stream, or an error shaped like
 * the SDK's (`name` = S3's error code, `$metadata.httpStatusCode`), which
 * ObjectStore turns into its typed errors. Both retry what the SDK's standard
 * strategy retries (5xx, 429, throttling, resets, timeouts) up to maxAttempts
 * with the same jittered exponential backoff; a body that fails after the
 * headers is ObjectStore's to retry.
 */
export interface ObjectRead {
  method: 'GET' | 'HEAD';
  key: string;
  ifNoneMatch?: string;
  ifMatch?: string;
  /** `bytes=start-end` (inclusive). */
  range?: string;
}

export interface ObjectReadResult {
  etag?: string;
  contentLength?: number;
  /** The body (GET), to be consumed once. */
  body?: AsyncIterable<Uint8Array>;
}

export interface ObjectReader {
  readonly kind: 'signed' | 'sdk';
  /** Attempts per request, the first included (S3_MAX_ATTEMPTS). */
  maxAttempts(): Promise<number>;
  read(bucket: string, request: ObjectRead): Promise<ObjectReadResult>;
}

/** An S3 answer other than 2xx, shaped like the SDK's service exceptions. */
export class S3ResponseError extends Error {
  readonly $metadata: { httpStatusCode: number };
  constructor(name: string, status: number, message?: string) {
    super(message ?? `S3 answered ${status} ${name}`);
    this.name = name;
    this.$metadata = { httpStatusCode: status };
  }
}

type S3Sdk = typeof import('@aws-sdk/client-s3');

// node:http through require, not `import`: on Node 22 an ESM import of node:http builds its ESM facade, which
// reads every export, including the lazy WebSocket/EventSource getters, and so compiles undici (≈ 5–10 ms of
// every cold start) for nothing.
const requireBuiltin = createRequire(import.meta.url);

/** Reads through the SDK client (loaded when first needed). */
export function sdkReader(sdk: () => Promise<{ client: S3Client; s3: S3Sdk }>): ObjectReader {
  return {
    kind: 'sdk',
    maxAttempts: async () => (await sdk()).client.config.maxAttempts(),
    async read(bucket, r) {
      const { client, s3 } = await sdk();
      if (r.method === 'HEAD') {
        const out = await client.send(new s3.HeadObjectCommand({ Bucket: bucket, Key: r.key }));
        return { etag: out.ETag, contentLength: out.ContentLength };
      }
      const out = await client.send(
        new s3.GetObjectCommand({
          Bucket: bucket,
          Key: r.key,
          IfNoneMatch: r.ifNoneMatch,
          IfMatch: r.ifMatch,
          Range: r.range,
        }),
      );
      return { etag: out.ETag, contentLength: out.ContentLength, body: out.Body as AsyncIterable<Uint8Array> };
    },
  };
}

export interface SignedReaderOptions {
  region: string;
  /** Custom endpoint (embedded server, MinIO); unset for AWS. Path-style addressing when set. */
  endpoint?: string;
  forcePathStyle?: boolean;
  credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  maxAttempts?: number;
  connectionTimeoutMs?: number;
  /** Longest silence on a request's socket (no answer, or a stalled body) before it fails. */
  requestTimeoutMs?: number;
}

/** sha256 of an empty body: a GET or HEAD signs this instead of hashing anything. */
const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
/** The SDK's standard retry strategy: base delay and cap of the jittered exponential backoff. */
const RETRY_BASE_MS = 100;
const RETRY_MAX_MS = 20_000;
const RETRYABLE_STATUS = new Set([429, 500, 502, 503, 504]);
const RETRYABLE_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN', 'TimeoutError']);

type SourceData = string | ArrayBuffer | ArrayBufferView;
const bytesOf = (data: SourceData): BinaryLike =>
  typeof data === 'string'
    ? data
    : data instanceof ArrayBuffer
      ? new Uint8Array(data)
      : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);

/** The Hash the signer wants (`new Sha256(secret?)`), on node:crypto. */
class NodeSha256 {
  private readonly hash;
  constructor(secret?: SourceData) {
    this.hash = secret ? createHmac('sha256', bytesOf(secret)) : createHash('sha256');
  }
  update(data: SourceData): void {
    this.hash.update(bytesOf(data));
  }
  digest(): Promise<Uint8Array> {
    return Promise.resolve(this.hash.digest());
  }
}

/** A key as S3 signs and routes it: every segment percent-encoded (RFC 3986), slashes kept. */
function encodeKey(key: string): string {
  return key
    .split('/')
    .map((segment) =>
      encodeURIComponent(segment).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`),
    )
    .join('/');
}

function timeoutError(message: string): Error {
  const err = new Error(message);
  err.name = 'TimeoutError';
  return err;
}

/** S3's XML error code (`<Code>NoSuchKey</Code>`), if the body has one. */
function errorCode(body: string): string | undefined {
  return /<Code>([^<]+)<\/Code>/.exec(body)?.[1];
}

const DEFAULT_CODES: Record<number, string> = { 304: 'NotModified', 404: 'NotFound', 412: 'PreconditionFailed' };

function isRetryable(err: unknown): boolean {
  if (err instanceof S3ResponseError)
    return RETRYABLE_STATUS.has(err.$metadata.httpStatusCode) || /Throttl|SlowDown/.test(err.name);
  const code = (err as { code?: string; name?: string })?.code ?? (err as { name?: string })?.name;
  return code !== undefined && RETRYABLE_CODES.has(code);
}

/** Reads signed with SigV4 over node:http(s) with keep-alive: no SDK client on the read path. */
export function signedReader(opts: SignedReaderOptions): ObjectReader {
  const base = new URL(opts.endpoint ?? `https://s3.${opts.region}.amazonaws.com`);
  const pathStyle = opts.forcePathStyle ?? Boolean(opts.endpoint);
  const secure = base.protocol === 'https:';
  const agentOptions = { keepAlive: true, maxSockets: 64 };
  const http = (secure ? requireBuiltin('node:https') : requireBuiltin('node:http')) as typeof import('node:https');
  const agent = new http.Agent(agentOptions);
  const send = http.request;
  const maxAttempts = opts.maxAttempts ?? 3;
  const connectionTimeoutMs = opts.connectionTimeoutMs ?? 3_000;
  const requestTimeoutMs = opts.requestTimeoutMs ?? 15_000;
  const signer = new SignatureV4({
    credentials: opts.credentials,
    region: opts.region,
    service: 's3',
    sha256: NodeSha256,
    // S3 signs the path as sent, without encoding it a second time.
    uriEscapePath: false,
    applyChecksum: true,
  });

  async function once(bucket: string, r: ObjectRead): Promise<ObjectReadResult> {
    const virtualHost = !pathStyle && !bucket.includes('.');
    const hostname = virtualHost ? `${bucket}.${base.hostname}` : base.hostname;
    const basePath = base.pathname.replace(/\/$/, '');
    const path = `${basePath}${virtualHost ? '' : `/${bucket}`}/${encodeKey(r.key)}`;
    const headers: Record<string, string> = {
      host: base.port ? `${hostname}:${base.port}` : hostname,
      'x-amz-content-sha256': EMPTY_SHA256,
    };
    if (r.ifNoneMatch) headers['if-none-match'] = r.ifNoneMatch;
    if (r.ifMatch) headers['if-match'] = r.ifMatch;
    if (r.range) headers.range = r.range;
    const signed = await signer.sign({
      method: r.method,
      protocol: base.protocol,
      hostname,
      port: base.port ? Number(base.port) : undefined,
      path,
      query: {},
      headers,
    });
    return new Promise<ObjectReadResult>((resolve, reject) => {
      const req = send({
        agent,
        method: r.method,
        hostname,
        port: base.port || undefined,
        path,
        headers: signed.headers,
      });
      req.on('socket', (socket) => {
        if (!socket.connecting) return;
        const timer = setTimeout(
          () => req.destroy(timeoutError(`connection to S3 not established in ${connectionTimeoutMs} ms`)),
          connectionTimeoutMs,
        );
        socket.once('connect', () => clearTimeout(timer));
        socket.once('close', () => clearTimeout(timer));
      });
      // An idle-socket timeout, as the SDK client's socketTimeout: it ends a request S3 stops answering
      // (no headers, or a body that stops arriving) without cutting off a large transfer that still moves.
      req.setTimeout(requestTimeoutMs, () => req.destroy(timeoutError(`S3 sent nothing for ${requestTimeoutMs} ms`)));
      req.once('error', reject);
      req.once('response', (res: IncomingMessage) => {
        const status = res.statusCode ?? 0;
        if (status >= 200 && status < 300) {
          const length = res.headers['content-length'];
          resolve({
            etag: res.headers.etag,
            contentLength: length === undefined ? undefined : Number(length),
            body: r.method === 'GET' ? res : undefined,
          });
          if (r.method === 'HEAD') res.resume();
          return;
        }
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.once('error', reject);
        res.once('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const name = errorCode(text) ?? DEFAULT_CODES[status] ?? `HTTP${status}`;
          reject(new S3ResponseError(name, status, /<Message>([^<]+)<\/Message>/.exec(text)?.[1]));
        });
      });
      req.end();
    });
  }

  return {
    kind: 'signed',
    maxAttempts: () => Promise.resolve(maxAttempts),
    async read(bucket, r) {
      for (let attempt = 1; ; attempt++) {
        try {
          return await once(bucket, r);
        } catch (err) {
          if (attempt >= maxAttempts || !isRetryable(err)) throw err;
          const delay = Math.min(RETRY_MAX_MS, Math.random() * RETRY_BASE_MS * 2 ** attempt);
          await new Promise((resolve) => setTimeout(resolve, delay));
        }
      }
    },
  };
}
