import { createHash } from 'node:crypto';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTreeEnsembleClassifier } from '../../src/demo/treeEnsemble';
import { embeddedS3ClientConfig } from '../../src/local/s3/embeddedS3';
import { featuresFor, startTestStack, type TestStack } from '../support/stack';
import { cliFor, FEATURES, LABELS, smallModel } from './support';

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

const REGISTER = `mutation($m: ID!, $v: String!, $s: [String!], $meta: JSONObject) {
  registerVersion(model: $m, version: $v, strategies: $s, metadata: $meta) { version sha256 sizeBytes labels featureNames accuracy stages }
}`;

describe('registerVersion: versions uploaded by other tools', () => {
  let stack: TestStack;
  let s3: S3Client;
  const upload = (model: string, version: string, files: Record<string, Buffer | string>) =>
    Promise.all(
      Object.entries(files).map(([name, body]) =>
        s3.send(
          new PutObjectCommand({
            Bucket: stack.server.runtime.bucket,
            Key: `${model}/archive/${version}/${name}`,
            Body: body,
          }),
        ),
      ),
    );
  const etag = async (key: string) => (await stack.server.runtime.store.head(key))?.etag;

  beforeAll(async () => {
    stack = await startTestStack();
    s3 = new S3Client(embeddedS3ClientConfig(stack.server.s3!.endpoint));
  });
  afterAll(async () => {
    s3?.destroy();
    await stack?.close();
  });

  it('computes checksums from the stored files, validates, writes metadata.json once; the version then promotes and serves', async () => {
    // Prepare: a training pipeline uploaded the files and its own metadata.json (no checksums).
    const model = Buffer.from(smallModel({ seed: 808 }));
    await upload('etfs/QQQ', 'v2', {
      'model.onnx': model,
      'feature_names.json': JSON.stringify(FEATURES),
      'metadata.json': JSON.stringify({ accuracy: 0.64, pipeline: 'nightly-42' }),
    });
    const listedBefore = await stack.gql(`{ model(id: "etfs/QQQ") { versions { version } } }`);
    expect(listedBefore.data!.model.versions.map((v: { version: string }) => v.version)).not.toContain('v2');

    // Act
    const res = await stack.gqlAsWriter(REGISTER, { m: 'etfs/QQQ', v: 'v2', s: LABELS });

    // Assess
    expect(res.errors).toBeUndefined();
    expect(res.data!.registerVersion).toEqual({
      version: 'v2',
      sha256: sha256(model),
      sizeBytes: model.byteLength,
      labels: LABELS,
      featureNames: FEATURES,
      accuracy: 0.64,
      stages: [],
    });
    const stored = JSON.parse(
      (await stack.server.runtime.store.get('etfs/QQQ/archive/v2/metadata.json')).body.toString(),
    );
    expect(stored).toMatchObject({ version: 'v2', pipeline: 'nightly-42', registered_by: 'admin', features: 5 });
    expect(stored.artifacts['feature_names.json'].sha256).toBe(sha256(Buffer.from(JSON.stringify(FEATURES))));
    const promoted = await stack.gqlAsWriter(`mutation { promote(model: "etfs/QQQ", version: "v2") { toVersion } }`);
    expect(promoted.errors).toBeUndefined();
    const answer = await stack.gql(`query($f: JSONObject!) { predict(ticker: "QQQ", features: $f) { version } }`, {
      f: featuresFor(FEATURES, 0),
    });
    expect(answer.data!.predict.version).toBe('v2');
  });

  it('a publisher named in the uploaded files or the arguments is ignored: the authenticated principal is recorded', async () => {
    // Prepare: an uploader tries to name someone else as publisher (to get around four eyes).
    await upload('etfs/QQQ', 'v-forged', {
      'model.onnx': Buffer.from(smallModel({ seed: 809 })),
      'feature_names.json': JSON.stringify(FEATURES),
      'metadata.json': JSON.stringify({
        published_by: 'reviewer',
        registered_by: 'reviewer',
        registered_at: '2020-01-01',
      }),
    });
    // Act
    const res = await stack.gql(
      `mutation($m: JSONObject) { registerVersion(model: "etfs/QQQ", version: "v-forged", strategies: ${JSON.stringify(LABELS)}, metadata: $m) { approval { publishedBy } } }`,
      { m: { published_by: 'someone-else', published_at: '2020-01-01' } },
      { token: stack.server.writeToken },
    );
    // Assess
    expect(res.errors).toBeUndefined();
    expect(res.data!.registerVersion.approval.publishedBy).toBe('admin');
    const stored = JSON.parse(
      (await stack.server.runtime.store.get('etfs/QQQ/archive/v-forged/metadata.json')).body.toString(),
    );
    expect(stored.registered_by).toBe('admin');
    expect(stored.published_by).toBeUndefined();
    expect(stored.registered_at).not.toBe('2020-01-01');
  });

  it('registering again is CONFLICT and leaves metadata.json untouched', async () => {
    const before = await etag('etfs/QQQ/archive/v2/metadata.json');
    const res = await stack.gqlAsWriter(REGISTER, { m: 'etfs/QQQ', v: 'v2', s: LABELS });
    expect(res.errors?.map((e) => e.extensions?.code)).toEqual(['CONFLICT']);
    expect(await etag('etfs/QQQ/archive/v2/metadata.json')).toBe(before);
  });

  it('of 6 concurrent registrations of one upload, exactly one wins (conditional write of metadata.json)', async () => {
    // Prepare: no metadata.json at all (labels.json instead) → the winner creates it with If-None-Match: *.
    await upload('etfs/IWM', 'v2', {
      'model.onnx': Buffer.from(smallModel({ seed: 9 })),
      'feature_names.json': JSON.stringify(FEATURES),
      'labels.json': JSON.stringify(LABELS),
    });
    const racers = Array.from({ length: 6 }, () => stack.gqlAsWriter(REGISTER, { m: 'etfs/IWM', v: 'v2' }));

    // Act
    const answers = await Promise.all(racers);

    // Assess
    const codes = answers.map((a) => (a.errors ? a.errors[0].extensions?.code : 'OK')).sort();
    expect(codes).toEqual(['CONFLICT', 'CONFLICT', 'CONFLICT', 'CONFLICT', 'CONFLICT', 'OK']);
    const versions = await stack.gql(`{ model(id: "etfs/IWM") { version(version: "v2") { labels sha256 } } }`);
    expect(versions.data!.model.version.labels).toEqual(LABELS);
  });

  it('an invalid upload (ZipMap) is INVALID_MODEL, stays unregistered, and its metadata.json is unchanged', async () => {
    const zip = buildTreeEnsembleClassifier({
      featureNames: FEATURES,
      labels: LABELS,
      trees: 2,
      depth: 2,
      seed: 1,
      zipMap: true,
    });
    await upload('etfs/IWM', 'v3', {
      'model.onnx': Buffer.from(zip),
      'feature_names.json': JSON.stringify(FEATURES),
      'metadata.json': JSON.stringify({ strategies: LABELS }),
    });
    const before = await etag('etfs/IWM/archive/v3/metadata.json');

    const res = await stack.gqlAsWriter(REGISTER, { m: 'etfs/IWM', v: 'v3' });

    expect(res.errors?.[0].extensions?.code).toBe('INVALID_MODEL');
    expect(res.errors?.[0].message).toMatch(/ZipMap/);
    expect(await etag('etfs/IWM/archive/v3/metadata.json')).toBe(before);
    const listed = await stack.gql(`{ model(id: "etfs/IWM") { versions { version } } }`);
    expect(listed.data!.model.versions.map((v: { version: string }) => v.version)).not.toContain('v3');
    const promote = await stack.gqlAsWriter(`mutation { promote(model: "etfs/IWM", version: "v3") { id } }`);
    expect(promote.errors?.[0].extensions?.code).toBe('INVALID_MODEL');
  });

  it('nothing uploaded is VERSION_NOT_FOUND; the CLI register command uses the same code', async () => {
    const none = await stack.gqlAsWriter(REGISTER, { m: 'etfs/IWM', v: 'v9', s: LABELS });
    expect(none.errors?.[0].extensions?.code).toBe('VERSION_NOT_FOUND');

    await upload('etfs/IWM', 'v4', {
      'model.onnx': Buffer.from(smallModel({ seed: 10 })),
      'feature_names.json': JSON.stringify(FEATURES),
    });
    const run = await cliFor(stack)('register', 'etfs/IWM', 'v4', '--strategies', LABELS.join(','), '--json');
    expect(run.code).toBe(0);
    expect(run.json.registered).toMatchObject({ version: 'v4', labels: LABELS, featureNames: FEATURES });
    const stored = JSON.parse(
      (await stack.server.runtime.store.get('etfs/IWM/archive/v4/metadata.json')).body.toString(),
    );
    // The principal, not $MODELGRAPH_USER.
    expect(stored).toMatchObject({ version: 'v4', strategies: LABELS, registered_by: 'admin' });
    expect(run.json.registered.sha256).toBe(stored.artifacts['model.onnx'].sha256);
  });
});
