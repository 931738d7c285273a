import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { embeddedS3ClientConfig } from '../../src/local/s3/embeddedS3';
import { pushVersion } from '../../src/release/pushVersion';
import { startTestStack, type TestStack, READ_PATHS } from '../support/stack';
import { FEATURES, LABELS, smallModel } from './support';

/**
 * A conditional PUT whose write happened but whose answer was lost (connection
 * reset after the write): the SDK retries it, and the retry fails its own
 * precondition (412) because of our first write. That must count as success —
 * not CONFLICT — and be recorded exactly once.
 */
describe.each(READ_PATHS)('conditional writes whose answer is lost (%s reads)', (readPath) => {
  let stack: TestStack;
  const lose = (key: string) =>
    stack.server.s3!.injectFault({ match: (r) => r.method === 'PUT' && r.key === key, kind: 'truncate', times: 1 });
  const putsTo = (key: string) => stack.server.s3!.requests().filter((r) => r.method === 'PUT' && r.key === key);

  beforeAll(async () => {
    stack = await startTestStack({ env: { S3_READ_PATH: readPath } });
    expect(stack.server.runtime.store.readPath).toBe(readPath);
  });
  afterAll(() => stack?.close());

  it('promote: succeeds, with one history record', async () => {
    const key = 'etfs/QQQ/production/metadata.json';
    const before = JSON.parse((await stack.server.runtime.store.get(key)).body.toString());
    stack.server.s3!.resetRequests();
    lose(key);

    const res = await stack.gqlAsWriter(
      `mutation { rollback(model: "etfs/QQQ", to: "v1.0.0", reason: "lost answer") { id generation } }`,
    );

    expect(res.errors).toBeUndefined();
    expect(putsTo(key).map((r) => r.status)).toEqual([0, 412]);
    const after = JSON.parse((await stack.server.runtime.store.get(key)).body.toString());
    expect(after.history).toHaveLength(before.history.length + 1);
    expect(after.history.at(-1).id).toBe(res.data!.rollback.id);
  });

  it('push: the version is published, not reported as CONFLICT, and its files stay', async () => {
    const key = 'etfs/QQQ/archive/v5/metadata.json';
    stack.server.s3!.resetRequests();
    lose(key);

    const { metadata } = await pushVersion(stack.server.runtime, {
      model: 'etfs/QQQ',
      version: 'v5',
      files: { 'model.onnx': Buffer.from(smallModel()), 'feature_names.json': Buffer.from(JSON.stringify(FEATURES)) },
      description: { strategies: LABELS },
    });

    expect(putsTo(key).map((r) => r.status)).toEqual([0, 412]);
    expect((await stack.server.runtime.store.listKeys('etfs/QQQ/archive/v5/')).sort()).toEqual([
      'etfs/QQQ/archive/v5/feature_names.json',
      'etfs/QQQ/archive/v5/metadata.json',
      'etfs/QQQ/archive/v5/model.onnx',
    ]);
    expect(metadata.version).toBe('v5');
  });

  it('registerAsset and registerVersion: succeed', async () => {
    const s3 = new S3Client(embeddedS3ClientConfig(stack.server.s3!.endpoint));
    const up = (file: string, body: Buffer | string) =>
      s3.send(
        new PutObjectCommand({ Bucket: stack.server.runtime.bucket, Key: `etfs/QQQ/archive/v6/${file}`, Body: body }),
      );
    await up('model.onnx', Buffer.from(smallModel({ seed: 6 })));
    await up('feature_names.json', JSON.stringify(FEATURES));
    s3.destroy();
    lose('metadata/asset_registry.json');
    lose('etfs/QQQ/archive/v6/metadata.json');

    const asset = await stack.gqlAsWriter(`mutation { registerAsset(ticker: "LOST", kind: STOCK) { ticker } }`);
    const version = await stack.gqlAsWriter(
      `mutation { registerVersion(model: "etfs/QQQ", version: "v6", strategies: ${JSON.stringify(LABELS)}) { version } }`,
    );

    expect(asset.errors).toBeUndefined();
    expect(version.errors).toBeUndefined();
    expect(putsTo('etfs/QQQ/archive/v6/metadata.json').map((r) => r.status)).toEqual([0, 412]);
  });
});
