import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../../src/config';
import { EMBEDDED_S3_CREDENTIALS } from '../../../src/local/s3/credentials';
import { startEmbeddedS3, type EmbeddedS3 } from '../../../src/local/s3/embeddedS3';
import { createRuntime, type Runtime, type RuntimeOverrides } from '../../../src/runtime';
import { createS3Client } from '../../../src/storage/s3Client';

export const TEST_BUCKET = 'modelgraph-lambda-test';

export interface S3Fixture {
  s3: EmbeddedS3;
  dir: string;
  /** A runtime on the embedded S3 server; `env` is read like the process environment. */
  runtime(env?: Record<string, string | undefined>, overrides?: RuntimeOverrides): Runtime;
  close(): Promise<void>;
}

/** The embedded S3 server (real S3 protocol on loopback) in a fresh temp folder, with one bucket. */
export async function startS3Fixture(): Promise<S3Fixture> {
  const dir = await mkdtemp(join(tmpdir(), 'modelgraph-lambda-'));
  const s3 = await startEmbeddedS3({ dataDir: join(dir, 's3') });
  await s3.ensureBucket(TEST_BUCKET);
  return {
    s3,
    dir,
    runtime: (env = {}, overrides = {}) => {
      const config = loadConfig({
        NODE_ENV: 'test',
        MODEL_BUCKET: TEST_BUCKET,
        S3_ENDPOINT: s3.endpoint,
        S3_MAX_ATTEMPTS: '1',
        ...env,
      });
      const s3Client = createS3Client({
        region: 'us-east-1',
        endpoint: s3.endpoint,
        forcePathStyle: true,
        credentials: EMBEDDED_S3_CREDENTIALS,
        maxAttempts: config.S3_MAX_ATTEMPTS,
      });
      return createRuntime(config, { s3Client, ...overrides });
    },
    close: async () => {
      await s3.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
