import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTreeEnsembleClassifier, treesForTargetSize } from '../../src/demo/treeEnsemble';
import { pushVersion, uploadForRegistration } from '../../src/release/pushVersion';
import type { PublishProgressEvent } from '../../src/registry/versionPublisher';
import { startTestStack, type TestStack } from '../support/stack';
import { cliFor, FEATURES, LABELS, smallModel, writeVersionFolder } from './support';
import { readVersionFolder } from '../../src/cli/versionFolder';

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('modelgraph push', () => {
  let stack: TestStack;
  let mg: ReturnType<typeof cliFor>;
  const keysOf = (prefix: string) => stack.server.runtime.store.listKeys(prefix);
  const push = (dir: string, model: string, version: string | undefined, ...extra: string[]) =>
    mg('push', dir, '--model', model, ...(version ? ['--version', version] : []), '--json', ...extra);

  beforeAll(async () => {
    stack = await startTestStack({ env: { POINTER_TTL_SECONDS: '0' } });
    mg = cliFor(stack);
  });
  afterAll(() => stack?.close());

  it('uploads a version folder: the version appears in Model.versions with the sha256 and size of every artifact', async () => {
    // Prepare
    const dir = await writeVersionFolder({
      seed: 7,
      metadata: { strategies: LABELS, accuracy: 0.71, training_samples: 5000, trainer: 'xgb-2' },
    });
    const modelBytes = await readFile(join(dir, 'model.onnx'));
    const namesBytes = await readFile(join(dir, 'feature_names.json'));

    // Act
    const run = await push(dir, 'etfs/SMH', 'v1.3');

    // Assess
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.json).toMatchObject({
      model: 'etfs/SMH',
      version: 'v1.3',
      validation: { features: 5, labels: 4, labelsCheckedAgainst: 'classifier-node' },
    });
    const res = await stack.gql(
      `{ model(id: "etfs/SMH") { versions { version sha256 sizeBytes modelFile featureNames labels accuracy trainingSamples } } }`,
    );
    const v = res.data!.model.versions.find((x: { version: string }) => x.version === 'v1.3');
    expect(v).toEqual({
      version: 'v1.3',
      sha256: sha256(modelBytes),
      sizeBytes: modelBytes.byteLength,
      modelFile: 'model.onnx',
      featureNames: FEATURES,
      labels: LABELS,
      accuracy: 0.71,
      trainingSamples: 5000,
    });
    const stored = JSON.parse(
      (await stack.server.runtime.store.get('etfs/SMH/archive/v1.3/metadata.json')).body.toString(),
    );
    expect(stored.artifacts).toEqual({
      'feature_names.json': { sha256: sha256(namesBytes), size: namesBytes.byteLength },
      'model.onnx': { sha256: sha256(modelBytes), size: modelBytes.byteLength },
    });
    expect(stored).toMatchObject({
      version: 'v1.3',
      features: 5,
      strategies: LABELS,
      trainer: 'xgb-2',
      // The API registered it: the authenticated principal, never $MODELGRAPH_USER (test-engineer).
      registered_by: 'admin',
    });
    expect(stored.published_by).toBeUndefined();
    expect(JSON.stringify(stored)).not.toContain('test-engineer');
    expect((await keysOf('etfs/SMH/archive/v1.3/')).sort()).toEqual([
      'etfs/SMH/archive/v1.3/feature_names.json',
      'etfs/SMH/archive/v1.3/metadata.json',
      'etfs/SMH/archive/v1.3/model.onnx',
    ]);
  });

  it('records lineage: --data-sha256, --training-window, the source and the git commit of the folder', async () => {
    // Prepare: a version folder that is a git repository with one commit.
    const dir = await writeVersionFolder({ seed: 41 });
    const git = (...args: string[]) =>
      execFileSync('git', ['-C', dir, '-c', 'user.email=t@example.com', '-c', 'user.name=t', ...args], {
        encoding: 'utf8',
      }).trim();
    git('init', '-q');
    git('add', '.');
    git('commit', '-q', '-m', 'v4 training run');
    const commit = git('rev-parse', 'HEAD');
    const dataSha = 'ab'.repeat(32);

    // Act
    const run = await push(
      dir,
      'etfs/SMH',
      'v4.0',
      '--data-sha256',
      dataSha.toUpperCase(),
      '--training-window',
      '2024-01-01..2024-12-31',
    );
    const other = await push(
      await writeVersionFolder({ seed: 42 }),
      'etfs/SMH',
      'v4.1',
      '--source-uri',
      's3://lake/runs/42',
    );

    // Assess
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const stored = JSON.parse(
      (await stack.server.runtime.store.get('etfs/SMH/archive/v4.0/metadata.json')).body.toString(),
    );
    expect(stored.lineage).toEqual({
      git_commit: commit,
      source_uri: dir,
      training_data_sha256: dataSha,
      training_from: '2024-01-01',
      training_to: '2024-12-31',
    });
    expect(run.json.metadata.lineage).toEqual(stored.lineage);
    expect(other.code).toBe(0);
    expect(other.json.metadata.lineage).toEqual({
      git_commit: null, // a temp folder outside any repository
      source_uri: 's3://lake/runs/42',
      training_data_sha256: null,
      training_from: null,
      training_to: null,
    });

    // Malformed lineage is a usage error, and nothing is uploaded.
    for (const bad of [
      ['--data-sha256', 'abc'],
      ['--training-window', '2024-01-01'],
      ['--training-window', '2024-13-01..2024-12-31'],
      ['--training-window', '2024-12-31..2024-01-01'],
    ]) {
      const refused = await push(dir, 'etfs/SMH', 'v4.2', ...bad);
      expect(refused.code, bad.join(' ')).toBe(2);
      expect(refused.error.code).toBe('BAD_USER_INPUT');
    }
    expect(await keysOf('etfs/SMH/archive/v4.2/')).toEqual([]);
  });

  it('an upload whose registration never happened is not a version; pushing the same folder again registers it, another folder is CONFLICT', async () => {
    // Prepare: the first half of a push (validated, artifacts uploaded), as if the API had been unreachable.
    const dir = await writeVersionFolder({ seed: 51 });
    const folder = await readVersionFolder(dir);
    await uploadForRegistration(stack.server.runtime, {
      model: 'etfs/SMH',
      version: 'v5.0',
      files: folder.files,
      description: folder.description,
    });
    // Only the artifacts: metadata.json is the API's to write (on AWS the bucket policy refuses it to anyone else).
    expect((await stack.server.runtime.store.listKeys('etfs/SMH/archive/v5.0/')).sort()).toEqual([
      'etfs/SMH/archive/v5.0/feature_names.json',
      'etfs/SMH/archive/v5.0/model.onnx',
    ]);
    const listed = await stack.gql(`{ model(id: "etfs/SMH") { version(version: "v5.0") { version } } }`);
    expect(listed.data!.model.version).toBeNull();

    // Act
    const other = await push(await writeVersionFolder({ seed: 52 }), 'etfs/SMH', 'v5.0');
    const same = await push(dir, 'etfs/SMH', 'v5.0');

    // Assess
    expect(other.code).toBe(1);
    expect(other.error.code).toBe('CONFLICT');
    expect(other.error.message).toMatch(/already holds model\.onnx/);
    expect(same.stderr).toBe('');
    expect(same.code).toBe(0);
    expect(same.json.metadata).toMatchObject({ version: 'v5.0', registered_by: 'admin' });
    const again = await push(dir, 'etfs/SMH', 'v5.0');
    expect(again.error).toMatchObject({ code: 'CONFLICT' });
    expect(again.error.message).toMatch(/already registered; versions are immutable/);
  });

  it('refuses to push an existing version again: CONFLICT, and no object of the version changes', async () => {
    // Prepare
    const prefix = 'etfs/SMH/archive/v1.3/';
    const store = stack.server.runtime.store;
    const before = await Promise.all((await keysOf(prefix)).map(async (k) => [k, (await store.head(k))!.etag]));
    const other = await writeVersionFolder({ seed: 99 });
    const s3 = stack.server.s3!;
    s3.resetRequests();

    // Act
    const run = await push(other, 'etfs/SMH', 'v1.3');

    // Assess
    expect(run.code).toBe(1);
    expect(run.error).toMatchObject({ code: 'CONFLICT', model: 'etfs/SMH', version: 'v1.3' });
    expect(run.error.message).toMatch(/immutable/);
    const after = await Promise.all((await keysOf(prefix)).map(async (k) => [k, (await store.head(k))!.etag]));
    expect(after).toEqual(before);
    expect(
      s3
        .requests()
        .filter((r) => r.method !== 'GET' && r.method !== 'HEAD' && r.key.startsWith(prefix) && r.status < 300),
    ).toEqual([]);
  });

  const zipMap = () =>
    buildTreeEnsembleClassifier({ featureNames: FEATURES, labels: LABELS, trees: 3, depth: 3, seed: 3, zipMap: true });
  const corrupt = () => {
    const bytes = Buffer.from(smallModel());
    for (let i = 0; i < bytes.length; i += 7) bytes[i] ^= 0x5a;
    return bytes;
  };
  const badFolders: Array<[string, Parameters<typeof writeVersionFolder>[0], RegExp]> = [
    ['a ZipMap model', { modelBytes: zipMap() }, /not tensors \(a ZipMap node\?\)|ZipMap/],
    [
      'a model wider than feature_names.json',
      { featureNamesFile: FEATURES.slice(0, 4) },
      /takes 5 features but feature_names\.json names 4/,
    ],
    ['no feature_names.json', { featureNamesFile: null }, /feature_names\.json is missing/],
    ['corrupt ONNX bytes', { modelBytes: corrupt() }, /onnxruntime cannot load the model/],
    [
      'labels the model does not know',
      { metadata: { strategies: ['A', 'B', 'C', 'D'] } },
      /labels IRON_CONDOR, BULL_CALL_SPREAD, BEAR_PUT_SPREAD, NO_TRADE are not among metadata\.strategies/,
    ],
    ['labels in the wrong order', { metadata: { strategies: [...LABELS].reverse() } }, /class order/],
    [
      'fewer labels than the model has classes',
      { metadata: { strategies: LABELS.slice(0, 3) } },
      /4 classes but metadata names 3 strategies|expected float32\[N, 3\]/,
    ],
    ['no labels at all', { metadata: { accuracy: 0.5 } }, /no labels: metadata\.json needs "strategies"/],
    [
      'labels.json disagreeing with metadata.json',
      { labelsFile: ['A', 'B', 'C', 'D'] },
      /labels\.json and metadata\.json "strategies" disagree/,
    ],
    ['no metadata.json', { metadata: null }, /has no metadata\.json/],
    [
      'feature_names.json that is not a list of names',
      { featureNamesFile: { names: FEATURES } },
      /feature_names\.json is malformed: .*expected array/,
    ],
    [
      'a metadata.json feature count that disagrees',
      { metadata: { strategies: LABELS, features: 84 } },
      /says 84 features but feature_names\.json names 5/,
    ],
    [
      'a corrupt model.onnx.gz',
      { compression: 'gz', modelBytes: Buffer.from('definitely not gzip') },
      /does not decompress/,
    ],
  ];

  it.each(badFolders)(
    'rejects %s with a clear INVALID_MODEL error and writes nothing',
    async (_name, spec, message) => {
      // Prepare
      const dir = await writeVersionFolder(spec);
      if (spec?.compression === 'gz' && spec.modelBytes) await writeFile(join(dir, 'model.onnx.gz'), spec.modelBytes);
      const s3 = stack.server.s3!;
      s3.resetRequests();

      // Act
      const run = await push(dir, 'etfs/SMH', 'v-bad');

      // Assess
      expect(run.code).toBe(1);
      expect(run.error.code).toBe('INVALID_MODEL');
      expect(run.error.message).toMatch(message);
      expect(await keysOf('etfs/SMH/archive/v-bad/')).toEqual([]);
      expect(s3.requests().filter((r) => r.method === 'PUT' || r.method === 'POST' || r.method === 'DELETE')).toEqual(
        [],
      );
    },
  );

  it('pushes a compressed model (.gz and .br) that serves after promotion', async () => {
    // Prepare
    const gz = await writeVersionFolder({ seed: 21, compression: 'gz' });
    const br = await writeVersionFolder({ seed: 22, compression: 'br' });

    // Act
    const runs = [await push(gz, 'etfs/SMH', 'v2-gz'), await push(br, 'etfs/SMH', 'v2-br')];
    const promoted = await mg('promote', 'etfs/SMH', 'v2-br', '--json');
    const features = Object.fromEntries(FEATURES.map((f, i) => [f, i / 10]));
    const answer = await stack.gql(
      `query($f: JSONObject!) { predict(ticker: "SMH", features: $f) { version strategy } }`,
      { f: features },
    );

    // Assess
    expect(runs.map((r) => r.code)).toEqual([0, 0]);
    expect(Object.keys(runs[0].json.metadata.artifacts).sort()).toEqual(['feature_names.json', 'model.onnx.gz']);
    expect(Object.keys(runs[1].json.metadata.artifacts).sort()).toEqual(['feature_names.json', 'model.onnx.br']);
    expect(promoted.code).toBe(0);
    expect(answer.errors).toBeUndefined();
    expect(answer.data!.predict.version).toBe('v2-br');
    expect(LABELS).toContain(answer.data!.predict.strategy);
  });

  it('takes the version name from metadata.json when --version is omitted, and refuses a disagreement', async () => {
    const named = await writeVersionFolder({ seed: 31, metadata: { version: 'v3.0', strategies: LABELS } });
    expect((await push(named, 'etfs/SMH', undefined)).json.version).toBe('v3.0');
    const run = await push(named, 'etfs/SMH', 'v3.1');
    expect(run.code).toBe(1);
    expect(run.error.message).toMatch(/metadata\.json says version "v3\.0" but the version being published is "v3\.1"/);
    expect(await keysOf('etfs/SMH/archive/v3.1/')).toEqual([]);
    const unnamed = await writeVersionFolder({ seed: 32 });
    const missing = await push(unnamed, 'etfs/SMH', undefined);
    expect(missing.code).toBe(2);
    expect(missing.error.code).toBe('BAD_USER_INPUT');
  });

  it('uploads a large model in parts, reporting progress, and stores exactly its bytes', async () => {
    // Prepare: a ~11 MB model, uploaded in 5 MiB parts above a 6 MiB threshold.
    const trees = treesForTargetSize(11_000_000, 8, FEATURES.length, LABELS.length);
    const bytes = Buffer.from(
      buildTreeEnsembleClassifier({ featureNames: FEATURES, labels: LABELS, trees, depth: 8, seed: 5 }),
    );
    const events: PublishProgressEvent[] = [];
    const s3 = stack.server.s3!;
    s3.resetRequests();

    // Act
    const { metadata } = await pushVersion(
      stack.server.runtime,
      {
        model: 'etfs/SMH',
        version: 'v-large',
        files: { 'model.onnx': bytes, 'feature_names.json': Buffer.from(JSON.stringify(FEATURES)) },
        description: { strategies: LABELS },
      },
      { multipartThresholdBytes: 6 * 1024 * 1024, partSizeBytes: 5 * 1024 * 1024, onProgress: (e) => events.push(e) },
    );

    // Assess
    const modelEvents = events.filter((e) => e.file === 'model.onnx');
    expect(modelEvents.length).toBeGreaterThanOrEqual(3);
    expect(modelEvents.every((e) => e.totalBytes === bytes.byteLength)).toBe(true);
    expect(modelEvents.map((e) => e.sentBytes)).toEqual([...modelEvents.map((e) => e.sentBytes)].sort((a, b) => a - b));
    expect(modelEvents.at(-1)!.sentBytes).toBe(bytes.byteLength);
    const parts = s3
      .requests()
      .filter((r) => r.key === 'etfs/SMH/archive/v-large/model.onnx' && r.query.includes('partNumber='));
    expect(parts.length).toBe(Math.ceil(bytes.byteLength / (5 * 1024 * 1024)));
    expect(metadata.artifacts['model.onnx']).toEqual({ sha256: sha256(bytes), size: bytes.byteLength });
    const stored = await stack.server.runtime.store.get('etfs/SMH/archive/v-large/model.onnx');
    expect(sha256(stored.body)).toBe(sha256(bytes));
  });

  describe('the modelgraph binary', () => {
    const bin = resolve(__dirname, '../../bin/modelgraph.mjs');
    const run = (args: string[], env: Record<string, string>) =>
      new Promise<{ code: number | null; stdout: string; stderr: string }>((done) => {
        const clean = Object.fromEntries(
          Object.entries(process.env).filter(([k]) => !['MODEL_BUCKET', 'S3_ENDPOINT', 'NODE_OPTIONS'].includes(k)),
        );
        const child = spawn(process.execPath, [bin, ...args], { env: { ...clean, ...env }, cwd: tmpdir() });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d) => (stdout += d));
        child.stderr.on('data', (d) => (stderr += d));
        child.on('close', (code) => done({ code, stdout, stderr }));
      });

    it('finds the running local server through its data folder, with no configuration', async () => {
      const listed = await run(['ls', '--json'], { MODELGRAPH_DATA_DIR: stack.dataDir });
      expect(listed.stderr).toBe('');
      expect(listed.code).toBe(0);
      const spy = JSON.parse(listed.stdout).models.find((m: { id: string }) => m.id === 'etfs/SPY');
      expect(spy).toEqual({ id: 'etfs/SPY', type: 'ETF_SPECIFIC', production: 'v1.1.0', staging: 'v1.1.0' });
    });

    it('says clearly when no local server is running, with a non-zero exit code', async () => {
      const empty = await mkdtemp(join(tmpdir(), 'modelgraph-nodata-'));
      const none = await run(['ls'], { MODELGRAPH_DATA_DIR: empty });
      expect(none.code).toBe(1);
      expect(none.stderr).toMatch(
        /^error STORAGE_UNAVAILABLE: No bucket is configured and no local Modelgraph server is running/,
      );
      const noApi = await run(['promote', 'etfs/SPY', 'v1.0.0'], { MODELGRAPH_DATA_DIR: empty });
      expect(noApi.code).toBe(1);
      expect(noApi.stderr).toMatch(
        /^error SERVER_UNAVAILABLE: No Modelgraph API is configured and no local Modelgraph server is running/,
      );
      await writeFile(join(empty, 's3-endpoint'), 'http://127.0.0.1:9\n'); // left behind by a killed server
      const staleS3 = await run(['ls'], { MODELGRAPH_DATA_DIR: empty });
      expect(staleS3.code).toBe(1);
      expect(staleS3.stderr).toMatch(
        /error STORAGE_UNAVAILABLE: .*http:\/\/127\.0\.0\.1:9 .*does not answer: is the local server \(`npm start`\) still running\?/,
      );
      await writeFile(join(empty, 'server-url'), 'http://127.0.0.1:9/graphql\n'); // also left behind
      const stale = await run(['promote', 'etfs/SPY', 'v1.0.0'], { MODELGRAPH_DATA_DIR: empty });
      expect(stale.code).toBe(1);
      expect(stale.stderr).toMatch(
        /^error SERVER_UNAVAILABLE: The Modelgraph API at http:\/\/127\.0\.0\.1:9\/graphql .*does not answer .*is the local server \(`npm start`\) still running\?/,
      );
      await rm(empty, { recursive: true, force: true });
    });
  });
});
