// Resident memory of a fresh process that loads models through the runtime's
// ModelCache (MODEL_CACHE_MAX_MB from the environment), sampled after every
// load (after a full GC, so garbage does not count). Run with --expose-gc.
//
// MGB_SPEC: { mode: 'deployed', models: string[] } — the production version of each model, in order;
//           { mode: 'versions', model, versions: string[] } — every listed version of one model, in order.
import { readFileSync } from 'node:fs';
import { loadConfig } from '../../src/config';
import { DEMO_FEATURE_NAMES } from '../../src/demo/strategies';
import { onnxRuntime } from '../../src/inference/onnxRuntime';
import { createRuntime } from '../../src/runtime';
import { featureVector } from '../lib/graphqlPayloads';

type Spec = { mode: 'deployed'; models: string[] } | { mode: 'versions'; model: string; versions: string[] };

const spec = JSON.parse(readFileSync(process.env.MGB_SPEC!, 'utf8')) as Spec;
const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);
const MB = 1024 * 1024;

function sample(label: string) {
  gc();
  const m = process.memoryUsage();
  return {
    label,
    rssMB: m.rss / MB,
    heapUsedMB: m.heapUsed / MB,
    externalMB: m.external / MB,
    loadedModels: runtime.models.loadedKeys.length,
    loadedMB: runtime.models.loadedBytes / MB,
    evictions: runtime.models.counters.evictions,
  };
}

const runtime = createRuntime(loadConfig(process.env));
await onnxRuntime();
const samples = [sample('baseline (runtime + onnxruntime loaded)')];
const row = featureVector(0, DEMO_FEATURE_NAMES);
const wait = () => new Promise((resolve) => setTimeout(resolve, 5));
if (spec.mode === 'deployed') {
  for (const model of spec.models) {
    const bundle = await runtime.predictor.deployedBundle(model);
    await runtime.models.run(bundle, row, 1);
    samples.push(sample(`${model}@${bundle.version}`));
  }
} else {
  for (const version of spec.versions) {
    const metadata = await runtime.registry.versionMetadata(spec.model, version);
    const bundle = await runtime.models.get(spec.model, version, metadata);
    await runtime.models.run(bundle, row, 1);
    await wait(); // lets released sessions finish releasing
    samples.push(sample(`${spec.model}@${version}`));
  }
}
process.stdout.write(
  `@@MGBENCH ${JSON.stringify({ kind: 'memory', samples, cacheBoundMB: runtime.config.MODEL_CACHE_MAX_MB })}\n`,
);
process.exit(0);
