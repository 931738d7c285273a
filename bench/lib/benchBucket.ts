/**
 * The bucket every section of the benchmark reads: the embedded S3 server on
 * loopback, seeded with the demo models (the 50-ticker portfolio) plus the
 * benchmark's own tree ensembles — a small (~2 MB) and a large (~30 MB) one,
 * each as model.onnx, model.onnx.br and model.onnx.gz, each behind its own ETF
 * ticker — and many versions of one model for the memory section.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brotliCompressSync, constants as zlib, gzipSync } from 'node:zlib';
import { loadConfig } from '../../src/config';
import { DEMO_FEATURE_NAMES, OPTION_STRATEGIES } from '../../src/demo/strategies';
import { buildTreeEnsembleClassifier, treesForTargetSize } from '../../src/demo/treeEnsemble';
import { demoAssetRegistry, demoDescription, seedDemoBucket } from '../../src/local/demoSeed';
import { EMBEDDED_S3_CREDENTIALS } from '../../src/local/s3/credentials';
import { startEmbeddedS3, type EmbeddedS3 } from '../../src/local/s3/embeddedS3';
import { ASSET_REGISTRY_KEY } from '../../src/registry/bucketLayout';
import { publishVersion } from '../../src/registry/versionPublisher';
import { createRuntime, type Runtime } from '../../src/runtime';
import { createS3Client } from '../../src/storage/s3Client';

export const BENCH_BUCKET = 'modelgraph-bench';

export type SizeName = 'small' | 'large';
export type ModelFileName = 'model.onnx' | 'model.onnx.br' | 'model.onnx.gz';
export const MODEL_FILES: readonly ModelFileName[] = ['model.onnx', 'model.onnx.br', 'model.onnx.gz'];

export interface SizeSpec {
  /** Target serialized size of model.onnx in bytes. */
  targetBytes: number;
  depth: number;
}

/** One published model: a ticker routed to its own ETF model, one version in production. */
export interface BenchModelVariant {
  ticker: string;
  model: string;
  version: string;
  file: ModelFileName;
  /** Key of the model file in the immutable archive folder. */
  key: string;
  /** Bytes stored in S3 (compressed for .br / .gz). */
  storedBytes: number;
  sha256: string;
}

export interface BenchModelSize {
  name: SizeName;
  trees: number;
  depth: number;
  /** Bytes of the uncompressed model.onnx. */
  modelBytes: number;
  buildMs: number;
  variants: Record<ModelFileName, BenchModelVariant>;
}

export interface BenchBucket {
  s3: EmbeddedS3;
  endpoint: string;
  bucket: string;
  dataDir: string;
  /** A runtime of the bench process itself (used for seeding and the portfolio/memory set-up). */
  setupRuntime: Runtime;
  sizes: Record<SizeName, BenchModelSize>;
  /** Archive-only versions of one model (for the eviction section), all with the bytes of one of the sizes. */
  memoryModel: { model: string; versions: string[]; modelBytes: number };
  /** The raw model bytes, kept for bare-session baselines in this process. */
  rawModels: Record<SizeName, Buffer>;
  close(): Promise<void>;
}

const TICKER_PREFIX: Record<SizeName, string> = { small: 'BENCHS', large: 'BENCHL' };
const FILE_SUFFIX: Record<ModelFileName, string> = { 'model.onnx': '', 'model.onnx.br': 'BR', 'model.onnx.gz': 'GZ' };

export function benchTicker(size: SizeName, file: ModelFileName): string {
  return `${TICKER_PREFIX[size]}${FILE_SUFFIX[file]}`;
}

function compress(file: ModelFileName, bytes: Buffer): Buffer {
  if (file === 'model.onnx.gz') return gzipSync(bytes, { level: 6 });
  if (file === 'model.onnx.br') {
    // Quality 5: within 1% of quality 9 on these models and ~3x faster to write (quality 11 takes minutes at 30 MB).
    return brotliCompressSync(bytes, {
      params: { [zlib.BROTLI_PARAM_QUALITY]: 5, [zlib.BROTLI_PARAM_SIZE_HINT]: bytes.byteLength },
    });
  }
  return bytes;
}

export interface BenchBucketOptions {
  sizes: Record<SizeName, SizeSpec>;
  /** Versions published for the memory section, and which model's bytes they carry. */
  memoryVersions: number;
  memoryModelSize: SizeName;
  log: (line: string) => void;
}

export async function startBenchBucket(opts: BenchBucketOptions): Promise<BenchBucket> {
  const dataDir = await mkdtemp(join(tmpdir(), 'modelgraph-bench-s3-'));
  const s3 = await startEmbeddedS3({ dataDir });
  await s3.ensureBucket(BENCH_BUCKET);
  const config = loadConfig({ MODEL_BUCKET: BENCH_BUCKET, S3_ENDPOINT: s3.endpoint, LOG_LEVEL: 'ERROR' });
  const s3Client = createS3Client({
    region: config.AWS_REGION,
    endpoint: s3.endpoint,
    forcePathStyle: true,
    credentials: EMBEDDED_S3_CREDENTIALS,
  });
  const setupRuntime = createRuntime(config, { s3Client });
  const { store, deployments } = setupRuntime;

  await seedDemoBucket(store, deployments);
  opts.log('seeded the demo models');

  const description = demoDescription({ accuracy: 0.6, created: '2026-11-01T00:00:00Z' });
  const featureNamesFile = Buffer.from(JSON.stringify(DEMO_FEATURE_NAMES, null, 2));
  const sizes = {} as Record<SizeName, BenchModelSize>;
  const rawModels = {} as Record<SizeName, Buffer>;
  const registry = demoAssetRegistry();
  for (const [name, spec] of Object.entries(opts.sizes) as Array<[SizeName, SizeSpec]>) {
    const trees = treesForTargetSize(spec.targetBytes, spec.depth, DEMO_FEATURE_NAMES.length, OPTION_STRATEGIES.length);
    const started = performance.now();
    const model = Buffer.from(
      buildTreeEnsembleClassifier({
        featureNames: DEMO_FEATURE_NAMES,
        labels: OPTION_STRATEGIES,
        trees,
        depth: spec.depth,
        seed: name === 'small' ? 7001 : 7002,
      }),
    );
    const buildMs = performance.now() - started;
    rawModels[name] = model;
    const variants = {} as Record<ModelFileName, BenchModelVariant>;
    for (const file of MODEL_FILES) {
      const ticker = benchTicker(name, file);
      const modelId = `etfs/${ticker}`;
      const stored = compress(file, model);
      const meta = await publishVersion(
        store,
        modelId,
        'v1',
        { [file]: stored, 'feature_names.json': featureNamesFile },
        description,
      );
      await deployments.promote({
        model: modelId,
        version: 'v1',
        stage: 'PRODUCTION',
        by: 'bench',
        reason: 'benchmark',
      });
      registry.etfs[ticker] = {
        name: `Benchmark ${name} model (${file})`,
        sector: 'Benchmark',
        status: 'active',
        model_path: `${modelId}/production/`,
      };
      variants[file] = {
        ticker,
        model: modelId,
        version: 'v1',
        file,
        key: `${modelId}/archive/v1/${file}`,
        storedBytes: stored.byteLength,
        sha256: meta.artifacts[file].sha256,
      };
    }
    sizes[name] = { name, trees, depth: spec.depth, modelBytes: model.byteLength, buildMs, variants };
    opts.log(
      `published the ${name} model: ${trees} trees of depth ${spec.depth}, ${(model.byteLength / 1e6).toFixed(2)} MB (built in ${buildMs.toFixed(0)} ms)`,
    );
  }
  await store.put(ASSET_REGISTRY_KEY, JSON.stringify(registry, null, 2), { contentType: 'application/json' });

  const memoryBytes = rawModels[opts.memoryModelSize];
  const memoryModel = { model: 'universal/bench_memory', versions: [] as string[], modelBytes: memoryBytes.byteLength };
  for (let i = 1; i <= opts.memoryVersions; i++) {
    const version = `m${String(i).padStart(3, '0')}`;
    await publishVersion(
      store,
      memoryModel.model,
      version,
      { 'model.onnx': memoryBytes, 'feature_names.json': featureNamesFile },
      description,
    );
    memoryModel.versions.push(version);
  }
  opts.log(`published ${opts.memoryVersions} versions of ${memoryModel.model}`);
  s3.resetRequests();

  return {
    s3,
    endpoint: s3.endpoint,
    bucket: BENCH_BUCKET,
    dataDir,
    setupRuntime,
    sizes,
    memoryModel,
    rawModels,
    close: async () => {
      setupRuntime.models.clear();
      await s3.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** Environment for a process that reads the bench bucket the way the Lambda function reads its bucket. */
export function bucketEnv(bucket: BenchBucket): Record<string, string> {
  return {
    MODEL_BUCKET: bucket.bucket,
    S3_ENDPOINT: bucket.endpoint,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: EMBEDDED_S3_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: EMBEDDED_S3_CREDENTIALS.secretAccessKey,
  };
}
