import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';

export interface S3ConnectionOptions {
  region: string;
  /** Custom endpoint (embedded server, MinIO, LocalStack). Unset for AWS. */
  endpoint?: string;
  forcePathStyle?: boolean;
  /** Static credentials; unset means the SDK's default chain (Lambda role). */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /** Total attempts per request including the first (SDK standard retry strategy). */
  maxAttempts?: number;
  connectionTimeoutMs?: number;
  /** Longest silence on a request's connection (waiting for the answer, or within a body) before it fails and is retried. */
  requestTimeoutMs?: number;
}

/**
 * One S3 client per process. Retries use the SDK's standard strategy (exponential
 * backoff with jitter); timeouts bound a stalled connection so a request ends in
 * STORAGE_UNAVAILABLE instead of hanging a Lambda until its own timeout.
 */
export function createS3Client(opts: S3ConnectionOptions): S3Client {
  const agentOptions = { keepAlive: true, maxSockets: 64 };
  const config: S3ClientConfig = {
    region: opts.region,
    endpoint: opts.endpoint,
    forcePathStyle: opts.forcePathStyle ?? Boolean(opts.endpoint),
    credentials: opts.credentials,
    maxAttempts: opts.maxAttempts ?? 3,
    // Checksums only where S3 requires them: s3rver stores streamed uploads with
    // the SDK's default trailing checksums corrupted (docs/design-notes.md), and we verify
    // every artifact with its own sha256 anyway.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    requestHandler: new NodeHttpHandler({
      connectionTimeout: opts.connectionTimeoutMs ?? 3_000,
      // An idle-socket timeout: it ends a request S3 stops answering (no headers,
      // or a body that stops arriving, which ObjectStore retries) without cutting
      // off a large transfer that is still moving. The handler's requestTimeout
      // would not do: it bounds the whole exchange, upload included, and unless
      // throwOnRequestTimeout is set it only logs a warning and keeps waiting.
      socketTimeout: opts.requestTimeoutMs ?? 15_000,
      httpAgent: new HttpAgent(agentOptions),
      httpsAgent: new HttpsAgent(agentOptions),
    }),
  };
  return new S3Client(config);
}
