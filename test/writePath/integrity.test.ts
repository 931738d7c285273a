import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { embeddedS3ClientConfig } from '../../src/local/s3/embeddedS3';
import { pushVersion } from '../../src/release/pushVersion';
import { startTestStack, featuresFor, type TestStack, READ_PATHS } from '../support/stack';
import { FEATURES, LABELS, smallModel } from './support';

describe.each(READ_PATHS)('integrity of archived artifacts (%s reads)', (readPath) => {
  let stack: TestStack;
  let s3: S3Client;
  const original = Buffer.from(smallModel({ seed: 404 }));
  const names = Buffer.from(JSON.stringify(FEATURES));
  const overwrite = (key: string, body: Buffer) =>
    s3.send(new PutObjectCommand({ Bucket: stack.server.runtime.bucket, Key: key, Body: body }));
  const predict = () =>
    stack.gql(`query($f: JSONObject!) { predict(ticker: "XLF", features: $f) { version strategy } }`, {
      f: featuresFor(FEATURES, 1),
    });

  beforeAll(async () => {
    stack = await startTestStack({ env: { S3_READ_PATH: readPath } });
    expect(stack.server.runtime.store.readPath).toBe(readPath);
    s3 = new S3Client(embeddedS3ClientConfig(stack.server.s3!.endpoint));
    await pushVersion(stack.server.runtime, {
      model: 'etfs/XLF',
      version: 'v2',
      files: { 'model.onnx': original, 'feature_names.json': names },
      description: { strategies: LABELS },
    });
    const promoted = await stack.gqlAsWriter(`mutation { promote(model: "etfs/XLF", version: "v2") { id } }`);
    expect(promoted.errors).toBeUndefined();
  });
  afterAll(async () => {
    s3?.destroy();
    await stack?.close();
  });

  it('a model.onnx changed in S3 gives INTEGRITY_ERROR, never a prediction; restored, it predicts', async () => {
    // Prepare: same length, a few bytes flipped (still a loadable protobuf is not required: the bytes never reach onnxruntime).
    const key = 'etfs/XLF/archive/v2/model.onnx';
    const tampered = Buffer.from(original);
    tampered[tampered.length - 10] ^= 0xff;
    await overwrite(key, tampered);
    const failuresBefore = stack.server.runtime.artifacts.counters.integrityFailures;

    // Act
    const first = await predict();
    const second = await predict();

    // Assess: refused twice (a failed load is not cached), each time after fetching and checking the bytes.
    for (const res of [first, second]) {
      expect(res.data).toBeNull();
      expect(res.errors?.map((e) => e.extensions?.code)).toEqual(['INTEGRITY_ERROR']);
      expect(res.errors![0].message).toMatch(/etfs\/XLF\/archive\/v2\/model\.onnx does not match the sha256/);
    }
    expect(stack.server.runtime.artifacts.counters.integrityFailures).toBe(failuresBefore + 2);
    expect(stack.server.runtime.models.loadedKeys).not.toContain('etfs/XLF@v2');

    // Act: restore the original bytes.
    await overwrite(key, original);
    const restored = await predict();

    // Assess
    expect(restored.errors).toBeUndefined();
    expect(restored.data!.predict.version).toBe('v2');
    expect(LABELS).toContain(restored.data!.predict.strategy);
  });

  it('a replaced feature_names.json gives INTEGRITY_ERROR where it is read (Version.featureNames)', async () => {
    const key = 'etfs/XLF/archive/v2/feature_names.json';
    await overwrite(key, Buffer.from(JSON.stringify([...FEATURES].reverse())));
    const res = await stack.gql(`{ model(id: "etfs/XLF") { version(version: "v2") { featureNames } } }`);
    expect(res.errors?.map((e) => e.extensions?.code)).toEqual(['INTEGRITY_ERROR']);
    await overwrite(key, names);
    const ok = await stack.gql(`{ model(id: "etfs/XLF") { version(version: "v2") { featureNames } } }`);
    expect(ok.data!.model.version.featureNames).toEqual(FEATURES);
  });
});
