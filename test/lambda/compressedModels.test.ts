/**
 * A version may store its model as model.onnx.gz or model.onnx.br (smaller
 * downloads on cold starts); loading decompresses it transparently. Same model
 * bytes → same predictions, through the real S3 protocol, the disk cache and
 * onnxruntime.
 */
import { brotliCompressSync, constants as zlibConstants, gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_FEATURE_NAMES } from '../../src/demo/strategies';
import { InvalidModelError } from '../../src/errors';
import { modelArtifactName } from '../../src/inference/modelBundle';
import { demoDescription, demoVersionFiles } from '../../src/local/demoSeed';
import { publishVersion } from '../../src/registry/versionPublisher';
import type { Runtime } from '../../src/runtime';
import { featuresFor } from '../support/stack';
import { startS3Fixture, type S3Fixture } from './support/s3Runtime';

const MODEL = 'etfs/SPY';
let fx: S3Fixture;
let runtime: Runtime;

beforeAll(async () => {
  fx = await startS3Fixture();
  runtime = fx.runtime({ DISK_CACHE_DIR: join(fx.dir, 'disk-cache') });
  const { 'model.onnx': onnx, 'feature_names.json': names } = demoVersionFiles(151, { trees: 40 });
  const description = demoDescription({ accuracy: 0.67, created: '2026-10-15T00:00:00Z' });
  await publishVersion(
    runtime.store,
    MODEL,
    'v2.0.0',
    { 'model.onnx': onnx, 'feature_names.json': names },
    description,
  );
  await publishVersion(
    runtime.store,
    MODEL,
    'v2.0.0-gz',
    { 'model.onnx.gz': gzipSync(onnx, { level: 9 }), 'feature_names.json': names },
    description,
  );
  await publishVersion(
    runtime.store,
    MODEL,
    'v2.0.0-br',
    {
      'model.onnx.br': brotliCompressSync(onnx, { params: { [zlibConstants.BROTLI_PARAM_QUALITY]: 11 } }),
      'feature_names.json': names,
    },
    description,
  );
  // Says gzip, is not: must be refused as an invalid model, not crash or be served.
  await publishVersion(
    runtime.store,
    MODEL,
    'v2.0.0-badgz',
    { 'model.onnx.gz': onnx, 'feature_names.json': names },
    description,
  );
});

afterAll(async () => {
  await fx?.close();
});

async function predictWith(version: string, rows: Float32Array[]) {
  const metadata = await runtime.registry.versionMetadata(MODEL, version);
  const bundle = await runtime.models.get(MODEL, version, metadata);
  return { metadata, answers: await bundle.predict(rows) };
}

describe('compressed model artifacts', () => {
  it('.gz and .br versions answer exactly like the plain model', async () => {
    // Prepare
    const metadata = await runtime.registry.versionMetadata(MODEL, 'v2.0.0');
    const bundle = await runtime.models.get(MODEL, 'v2.0.0', metadata);
    const rows = Array.from({ length: 25 }, (_, i) => bundle.validateFeatures(featuresFor(DEMO_FEATURE_NAMES, i)));
    // Act
    const plain = await predictWith('v2.0.0', rows);
    const gz = await predictWith('v2.0.0-gz', rows);
    const br = await predictWith('v2.0.0-br', rows);
    // Assess
    expect(modelArtifactName(plain.metadata)).toBe('model.onnx');
    expect(modelArtifactName(gz.metadata)).toBe('model.onnx.gz');
    expect(modelArtifactName(br.metadata)).toBe('model.onnx.br');
    const size = (m: typeof plain.metadata) => m.artifacts[modelArtifactName(m)].size;
    expect(size(gz.metadata)).toBeLessThan(size(plain.metadata));
    expect(size(br.metadata)).toBeLessThan(size(plain.metadata));
    // Distinct rows give distinct answers, so equality below is not vacuous.
    expect(new Set(plain.answers.map((a) => a.strategy)).size).toBeGreaterThan(1);
    for (const other of [gz, br]) {
      expect(other.answers.map((a) => a.strategy)).toEqual(plain.answers.map((a) => a.strategy));
      expect(other.answers.map((a) => Array.from(a.probabilities))).toEqual(
        plain.answers.map((a) => Array.from(a.probabilities)),
      );
    }
  });

  it('a version whose compressed model does not decompress is INVALID_MODEL, and nothing is cached', async () => {
    const metadata = await runtime.registry.versionMetadata(MODEL, 'v2.0.0-badgz');
    await expect(runtime.models.get(MODEL, 'v2.0.0-badgz', metadata)).rejects.toThrow(InvalidModelError);
    expect(runtime.models.loadedKeys).not.toContain(`${MODEL}@v2.0.0-badgz`);
  });
});
