import type { Config } from '../config';
import { ObjectStore } from '../storage/objectStore';
import { createS3Client } from '../storage/s3Client';
import { Registry } from './registry';

/**
 * The model bucket as the scheduled Lambdas (events catch-up, evaluation
 * chunks) open it from their configuration: one SDK client, the store and a
 * registry with the configured pointer TTL. The API's runtime (src/runtime.ts)
 * builds its own, with signed reads and a lazily imported client for a fast
 * first prediction.
 */
export function openBucket(config: Config): { store: ObjectStore; registry: Registry } {
  if (!config.MODEL_BUCKET) throw new Error('MODEL_BUCKET is not set');
  const client = createS3Client({
    region: config.AWS_REGION,
    endpoint: config.S3_ENDPOINT,
    maxAttempts: config.S3_MAX_ATTEMPTS,
    connectionTimeoutMs: config.S3_CONNECT_TIMEOUT_MS,
    requestTimeoutMs: config.S3_REQUEST_TIMEOUT_MS,
  });
  const store = new ObjectStore(client, config.MODEL_BUCKET);
  const registry = new Registry(store, {
    pointerTtlMs: config.POINTER_TTL_SECONDS * 1000,
    maxStaleMs: config.POINTER_MAX_STALE_SECONDS * 1000,
  });
  return { store, registry };
}
