import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_FEATURE_NAMES } from '../../src/demo/strategies';
import { EMBEDDED_S3_CREDENTIALS } from '../../src/local/s3/credentials';
import { LOCAL_BUCKET, startLocalServer, type LocalServer } from '../../src/local/server';
import { featuresFor, startTestStack, type TestStack } from '../support/stack';

describe('MODEL_BUCKET: the same server reads a bucket it does not host', () => {
  let host: TestStack;
  let reader: LocalServer;
  let readerDir: string;
  const savedEnv = { ...process.env };

  beforeAll(async () => {
    // Prepare: one stack hosts the seeded bucket; a second server reads it as an external bucket.
    host = await startTestStack();
    readerDir = await mkdtemp(join(tmpdir(), 'modelgraph-reader-'));
    // Credentials come from the SDK's default chain, as on AWS.
    process.env.AWS_ACCESS_KEY_ID = EMBEDDED_S3_CREDENTIALS.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = EMBEDDED_S3_CREDENTIALS.secretAccessKey;
    reader = await startLocalServer({
      port: 0,
      dataDir: readerDir,
      env: {
        MODEL_BUCKET: LOCAL_BUCKET,
        S3_ENDPOINT: host.server.s3!.endpoint,
        AWS_REGION: 'us-east-1',
        NODE_ENV: 'test',
        MODELGRAPH_WRITE_TOKEN: 'reader-token-0123456789',
      },
    });
  });
  afterAll(async () => {
    process.env = savedEnv;
    await reader?.close();
    await host?.close();
    await rm(readerDir, { recursive: true, force: true });
  });

  it('starts no embedded server of its own and predicts from the external bucket', async () => {
    expect(reader.s3).toBeUndefined();
    host.server.s3!.resetRequests();
    const res = await fetch(reader.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        query:
          'query($f: JSONObject!) { about { bucket } predict(ticker: "XLF", features: $f) { model { id } version strategy } }',
        variables: { f: featuresFor(DEMO_FEATURE_NAMES, 4) },
      }),
    });
    const json = (await res.json()) as any;
    expect(json.errors).toBeUndefined();
    expect(json.data.about.bucket).toBe(LOCAL_BUCKET);
    expect(json.data.predict.model.id).toBe('etfs/XLF');
    // The model bytes came from the host's S3 server.
    expect(host.server.s3!.count({ method: 'GET', keySuffix: 'etfs/XLF/archive/v1.0.0/model.onnx' })).toBe(1);
  });
});
