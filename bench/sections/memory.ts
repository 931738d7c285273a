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
import { n1, table } from '../lib/markdown';

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

function loopRows(bounded: MemoryLoop, unbounded: MemoryLoop, every: number): string[][] {
  const rows: string[][] = [];
  const count = Math.max(bounded.samples.length, unbounded.samples.length);
  for (let i = 0; i < count; i++) {
    if (i !== 0 && i !== count - 1 && i % every !== 0) continue;
    const b = bounded.samples[i];
    const u = unbounded.samples[i];
    rows.push([
      i === 0 ? 'baseline' : String(i),
      b ? n1(b.rssMB) : '–',
      b ? `${b.loadedModels} (${n1(b.loadedMB)} MiB)` : '–',
      b ? String(b.evictions) : '–',
      u ? n1(u.rssMB) : '–',
      u ? `${u.loadedModels} (${n1(u.loadedMB)} MiB)` : '–',
    ]);
  }
  return rows;
}

/** Section 5: RSS per loaded model, and eviction under MODEL_CACHE_MAX_MB. */
export function renderMemory(mem: MemoryResult): string {
  const out: string[] = [];
  out.push('## 5. Memory (RSS after a full GC, fresh process per run; MiB)');
  out.push('');
  out.push(
    table(
      ['After loading', 'RSS MiB', 'Loaded models', 'Loaded model MiB', 'RSS growth ÷ model size'],
      mem.allModels.samples.map((s, i, all) => {
        const prev = all[i - 1];
        // The first model also pays onnxruntime's one-time environment set-up: no ratio for it.
        const growth =
          i >= 2 && s.loadedMB > prev.loadedMB
            ? `${((s.rssMB - prev.rssMB) / (s.loadedMB - prev.loadedMB)).toFixed(1)}×`
            : '–';
        return [s.label, n1(s.rssMB), String(s.loadedModels), n1(s.loadedMB), growth];
      }),
    ),
  );
  out.push('');
  out.push(
    `Eviction: ${mem.versionsLoaded} distinct versions of a ${n1(mem.versionModelMB)} MiB model loaded one after another (one prediction each), with MODEL_CACHE_MAX_MB=${mem.bounded.cacheBoundMB} (bounded) and ${mem.unbounded.cacheBoundMB} (unbounded):`,
  );
  out.push('');
  const every = Math.max(1, Math.ceil(mem.versionsLoaded / 10));
  out.push(
    table(
      ['Loads', 'Bounded RSS MiB', 'Bounded loaded', 'Evictions', 'Unbounded RSS MiB', 'Unbounded loaded'],
      loopRows(mem.bounded, mem.unbounded, every),
    ),
  );
  out.push('');
  out.push(
    `Bounded: RSS ${n1(mem.bounded.rssAtBoundMB)} MiB when the bound filled, at most ${n1(mem.bounded.rssMaxAfterBoundMB)} MiB after, ${n1(mem.bounded.rssFinalMB)} MiB at the end (${mem.bounded.evictions} evictions). Unbounded: ${n1(mem.unbounded.rssFinalMB)} MiB at the end.`,
  );
  out.push('');
  return out.join('\n');
}
