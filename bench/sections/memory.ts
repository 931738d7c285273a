/**
 * Section 5: resident memory. (a) A fresh process loads every production demo
 * model and the two benchmark models; (b) with MODEL_CACHE_MAX_MB below the
 * total, a fresh process loads many distinct versions of one model in a loop
 * and eviction must keep RSS flat; (c) the same loop without a useful bound,
 * for contrast.
 */
import { join } from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { DEMO_ETFS, DEMO_UNIVERSAL_MODEL } from '../../src/local/demoSeed';
import { bucketEnv, type BenchBucket } from '../lib/benchBucket';
import { cleanEnv, messageOf, runChild, writeSpec } from '../lib/child';
import { REPO_ROOT } from '../lib/lambdaTarget';

export interface MemorySample {
  label: string;
  rssMB: number;
  heapUsedMB: number;
  externalMB: number;
  loadedModels: number;
  loadedMB: number;
  evictions: number;
}

export interface MemoryLoop {
  cacheBoundMB: number;
  samples: MemorySample[];
  /** RSS after the first load that filled the bound, and the maximum after it. */
  rssAtBoundMB: number;
  rssMaxAfterBoundMB: number;
  rssFinalMB: number;
  evictions: number;
}

export interface MemoryResult {
  allModels: { samples: MemorySample[]; baselineMB: number; finalMB: number; modelBytesMB: number };
  bounded: MemoryLoop;
  unbounded: MemoryLoop;
  versionsLoaded: number;
  versionModelMB: number;
}

async function runMemoryChild(
  bucket: BenchBucket,
  spec: unknown,
  cacheMaxMB: number,
): Promise<{ samples: MemorySample[]; cacheBoundMB: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'modelgraph-bench-mem-'));
  try {
    const run = await runChild({
      script: join(REPO_ROOT, 'bench/children/memoryChild.ts'),
      execArgv: ['--expose-gc', '--import', 'tsx'],
      env: cleanEnv({
        ...bucketEnv(bucket),
        NODE_ENV: 'production',
        LOG_LEVEL: 'ERROR',
        MODEL_CACHE_MAX_MB: String(cacheMaxMB),
        MGB_SPEC: writeSpec(dir, spec),
      }),
      cwd: REPO_ROOT,
      timeoutMs: 300_000,
    });
    return messageOf(run, 'memory', 'memory child') as unknown as { samples: MemorySample[]; cacheBoundMB: number };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function loopSummary(res: { samples: MemorySample[]; cacheBoundMB: number }): MemoryLoop {
  const loads = res.samples.slice(1);
  const firstEviction = loads.findIndex((s) => s.evictions > 0);
  const atBound = firstEviction >= 0 ? loads[Math.max(0, firstEviction - 1)] : loads[loads.length - 1];
  const after = firstEviction >= 0 ? loads.slice(firstEviction) : [];
  return {
    cacheBoundMB: res.cacheBoundMB,
    samples: res.samples,
    rssAtBoundMB: atBound.rssMB,
    rssMaxAfterBoundMB: after.length ? Math.max(...after.map((s) => s.rssMB)) : atBound.rssMB,
    rssFinalMB: loads[loads.length - 1].rssMB,
    evictions: loads[loads.length - 1].evictions,
  };
}

export async function runMemory(
  bucket: BenchBucket,
  opts: { boundMB: number; log: (line: string) => void },
): Promise<MemoryResult> {
  const models = [
    ...Object.keys(DEMO_ETFS).map((t) => `etfs/${t}`),
    'stocks/universal',
    DEMO_UNIVERSAL_MODEL,
    bucket.sizes.small.variants['model.onnx'].model,
    bucket.sizes.large.variants['model.onnx'].model,
  ];
  const all = await runMemoryChild(bucket, { mode: 'deployed', models }, 4096);
  const { model, versions, modelBytes } = bucket.memoryModel;
  const bounded = loopSummary(await runMemoryChild(bucket, { mode: 'versions', model, versions }, opts.boundMB));
  const unbounded = loopSummary(await runMemoryChild(bucket, { mode: 'versions', model, versions }, 4096));
  const totalModelMB = all.samples[all.samples.length - 1].loadedMB;
  const result: MemoryResult = {
    allModels: {
      samples: all.samples,
      baselineMB: all.samples[0].rssMB,
      finalMB: all.samples[all.samples.length - 1].rssMB,
      modelBytesMB: totalModelMB,
    },
    bounded,
    unbounded,
    versionsLoaded: versions.length,
    versionModelMB: modelBytes / 1024 / 1024,
  };
  opts.log(
    `memory: all models → RSS ${result.allModels.baselineMB.toFixed(0)} → ${result.allModels.finalMB.toFixed(0)} MB; ` +
      `${versions.length} versions with a ${opts.boundMB} MB bound → final ${bounded.rssFinalMB.toFixed(0)} MB (${bounded.evictions} evictions), ` +
      `unbounded → ${unbounded.rssFinalMB.toFixed(0)} MB`,
  );
  return result;
}
