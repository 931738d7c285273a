import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { loadConfig, type Config } from '../config';
import { ErrorCode, ModelgraphError } from '../errors';
import { LOCAL_BUCKET, S3_ENDPOINT_FILE } from '../local/localTarget';
import { EMBEDDED_S3_CREDENTIALS } from '../local/s3/credentials';
import { createRuntime, type Runtime } from '../runtime';
import { createS3Client } from '../storage/s3Client';
import type { CliIo } from './io';

export interface ConnectionFlags {
  endpoint?: string;
  bucket?: string;
  region?: string;
}

/** Which bucket a CLI run talks to, and how it found out. */
export interface Target {
  bucket: string;
  endpoint?: string;
  region: string;
  /** The embedded S3 server of a local Modelgraph server (fixed s3rver credentials). */
  local: boolean;
  /** For messages: where the endpoint came from. */
  endpointSource?: string;
}

function storageError(message: string): ModelgraphError {
  return new ModelgraphError(ErrorCode.STORAGE_UNAVAILABLE, message);
}

/**
 * The bucket comes from --bucket or MODEL_BUCKET (the server's configuration),
 * with --endpoint / S3_ENDPOINT for S3-compatible servers and the SDK's default
 * credentials. Without a bucket the CLI targets the embedded S3 server of the
 * local Modelgraph server (`npm start`), bucket `modelgraph-local`: its endpoint
 * from --endpoint, S3_ENDPOINT, or the file the local server writes into its
 * data folder (MODELGRAPH_DATA_DIR, default ./.modelgraph).
 */
export function resolveTarget(flags: ConnectionFlags, io: CliIo, config: Config): Target {
  const region = flags.region ?? config.AWS_REGION;
  const bucket = flags.bucket ?? config.MODEL_BUCKET;
  const endpoint = flags.endpoint ?? config.S3_ENDPOINT;
  if (bucket)
    return { bucket, endpoint, region, local: false, endpointSource: flags.endpoint ? '--endpoint' : 'S3_ENDPOINT' };
  if (endpoint)
    return {
      bucket: LOCAL_BUCKET,
      endpoint,
      region,
      local: true,
      endpointSource: flags.endpoint ? '--endpoint' : 'S3_ENDPOINT',
    };
  const dataDir = resolve(io.cwd, io.env.MODELGRAPH_DATA_DIR ?? '.modelgraph');
  const file = join(dataDir, S3_ENDPOINT_FILE);
  if (!existsSync(file)) {
    throw storageError(
      `No bucket is configured and no local Modelgraph server is running (${file} does not exist). ` +
        'Start the local server with `npm start` (in the folder holding .modelgraph, or set MODELGRAPH_DATA_DIR), ' +
        'or name a bucket with MODEL_BUCKET / --bucket (plus S3_ENDPOINT / --endpoint for an S3-compatible server).',
    );
  }
  return {
    bucket: LOCAL_BUCKET,
    endpoint: readFileSync(file, 'utf8').trim(),
    region,
    local: true,
    endpointSource: file,
  };
}

/** A Runtime (the same store, registry and deployments the server uses) over the target bucket. */
export interface Connection {
  target: Target;
  runtime: Runtime;
  close(): void;
}

export async function connect(flags: ConnectionFlags, io: CliIo): Promise<Connection> {
  let config: Config;
  try {
    config = loadConfig(io.env);
  } catch (err) {
    throw new ModelgraphError(ErrorCode.BAD_USER_INPUT, err instanceof Error ? err.message : String(err));
  }
  const target = resolveTarget(flags, io, config);
  if (target.local) await probeLocal(target);
  const s3Client: S3Client = createS3Client({
    region: target.region,
    endpoint: target.endpoint,
    credentials: target.local ? EMBEDDED_S3_CREDENTIALS : undefined,
    maxAttempts: config.S3_MAX_ATTEMPTS,
    connectionTimeoutMs: config.S3_CONNECT_TIMEOUT_MS,
    requestTimeoutMs: config.S3_REQUEST_TIMEOUT_MS,
  });
  // The CLI writes and reads once per run: nothing it reads should be cached.
  const runtime = createRuntime(
    {
      ...config,
      MODEL_BUCKET: target.bucket,
      S3_ENDPOINT: target.endpoint,
      AWS_REGION: target.region,
      POINTER_TTL_SECONDS: 0,
      DISK_CACHE_DIR: undefined,
    },
    { s3Client },
  );
  return {
    target,
    runtime,
    close: () => {
      runtime.models.clear();
      s3Client.destroy();
    },
  };
}

/** A local server that is not running answers nothing: say so instead of retrying S3 calls. */
async function probeLocal(target: Target): Promise<void> {
  let url: URL;
  try {
    url = new URL(target.endpoint!);
  } catch {
    throw storageError(`"${target.endpoint}" (from ${target.endpointSource}) is not a URL`);
  }
  try {
    await fetch(url, { method: 'HEAD', signal: AbortSignal.timeout(3_000) });
  } catch {
    throw storageError(
      `The local Modelgraph server's S3 endpoint ${url.origin} (from ${target.endpointSource}) does not answer: ` +
        'is the local server (`npm start`) still running?',
    );
  }
}
