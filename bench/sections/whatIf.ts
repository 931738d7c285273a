/**
 * What-if: every cold-start lever measured A/B in one run. Each candidate is the
 * function as built (what deploys) or a what-if build (`scripts/build-lambda.mjs
 * --variant …`, each variant the alternative to one lever that ships), run on a
 * given Node binary with a given environment (e.g. NODE_COMPILE_CACHE). Within a
 * repetition every candidate runs once, in a rotating order, next to one floor
 * run, so drift on a loaded machine hits all of them alike; ratios to the first
 * candidate are what to read.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchBucket } from '../lib/benchBucket';
import { bucketEnv } from '../lib/benchBucket';
import { cleanEnv, messageOf, runChild } from '../lib/child';
import type { LambdaTarget } from '../lib/lambdaTarget';
import { table } from '../lib/markdown';
import { fmtRatio, ms, spread, summarize, type Summary } from '../lib/stats';
import { coldStartChildren, type ColdScenario, type ColdStartOptions } from './coldStart';

export interface WhatIfCandidate {
  name: string;
  description: string;
  /** `node --version` of target.node. */
  nodeVersion: string;
  target: LambdaTarget;
}

export interface WhatIfResult {
  /** The candidate the others are compared with. */
  baseline: string;
  candidates: Array<{
    name: string;
    description: string;
    nodeVersion: string;
    /** Spawn → handler module imported (module load + module-scope init), no request. */
    importMs: Summary;
    /** Spawn → answered `predict`, per scenario id. */
    cold: Record<string, Summary>;
  }>;
  /** The floor on the baseline's Node, per scenario id. */
  floor: Record<string, Summary>;
  scenarios: Array<Pick<ColdScenario, 'id' | 'size'>>;
  repetitions: number;
}

const LOADED =
  "process.stdout.write('@@MGBENCH ' + JSON.stringify({ kind: 'loaded', at: performance.now() }) + '\\n'); process.exit(0);";

export async function runWhatIf(
  bucket: BenchBucket,
  candidates: WhatIfCandidate[],
  opts: {
    scenarios: ColdScenario[];
    repetitions: number;
    sessionOptions: ColdStartOptions['sessionOptions'];
    log: (line: string) => void;
  },
): Promise<WhatIfResult> {
  const specDir = mkdtempSync(join(bucket.dataDir, '..', 'modelgraph-bench-whatif-'));
  try {
    const children = candidates.map((c) => coldStartChildren(bucket, c.target, opts.sessionOptions, specDir));
    const importScripts = candidates.map((c, i) => {
      const file = join(specDir, `import-${i}.mjs`);
      writeFileSync(file, `await import(${JSON.stringify(c.target.entryUrl)});\n${LOADED}\n`);
      return file;
    });
    const importEnv = (c: WhatIfCandidate) =>
      cleanEnv({
        ...bucketEnv(bucket),
        NODE_ENV: 'production',
        LOG_LEVEL: 'INFO',
        AWS_LAMBDA_FUNCTION_NAME: 'modelgraph-bench',
        DISK_CACHE_DIR: '',
        NODE_PATH: c.target.nodePath,
        ...c.target.env,
      });
    const imports = candidates.map(() => [] as number[]);
    const cold = candidates.map(() => new Map<string, number[]>(opts.scenarios.map((s) => [s.id, []])));
    const floor = new Map<string, number[]>(opts.scenarios.map((s) => [s.id, []]));
    for (let r = 0; r < opts.repetitions; r++) {
      const order = candidates.map((_, i) => (i + r) % candidates.length);
      for (const i of order) {
        const c = candidates[i];
        const run = await runChild({
          script: importScripts[i],
          node: c.target.node,
          execArgv: c.target.execArgv,
          env: importEnv(c),
          cwd: c.target.cwd,
          timeoutMs: 60_000,
        });
        imports[i].push(messageOf(run, 'loaded', `what-if ${c.name}: import`).atMs);
      }
      for (const sc of opts.scenarios) {
        const variant = bucket.sizes[sc.size].variants[sc.file];
        const f = await children[0].floorRun({ url: `${bucket.endpoint}/${bucket.bucket}/${variant.key}` }, sc.file);
        floor.get(sc.id)!.push(messageOf(f, 'cold', `what-if ${sc.id}: floor`).atMs);
        for (const i of order) {
          const diskDir = mkdtempSync(join(specDir, 'disk-'));
          const h = await children[i].handlerRun(variant.ticker, sc.disk === 'off' ? '' : diskDir);
          rmSync(diskDir, { recursive: true, force: true });
          cold[i].get(sc.id)!.push(messageOf(h, 'cold', `what-if ${candidates[i].name} ${sc.id}`).atMs);
        }
      }
    }
    const result: WhatIfResult = {
      baseline: candidates[0].name,
      candidates: candidates.map((c, i) => ({
        name: c.name,
        description: c.description,
        nodeVersion: c.nodeVersion,
        importMs: summarize(imports[i]),
        cold: Object.fromEntries([...cold[i]].map(([id, xs]) => [id, summarize(xs)])),
      })),
      floor: Object.fromEntries([...floor].map(([id, xs]) => [id, summarize(xs)])),
      scenarios: opts.scenarios.map((s) => ({ id: s.id, size: s.size })),
      repetitions: opts.repetitions,
    };
    for (const c of result.candidates)
      opts.log(
        `what-if ${c.name}: import ${c.importMs.median.toFixed(0)} ms; ${result.scenarios
          .map((s) => `${s.id} ${c.cold[s.id].median.toFixed(0)} ms`)
          .join(', ')}`,
      );
    return result;
  } finally {
    rmSync(specDir, { recursive: true, force: true });
  }
}

export function renderWhatIf(w: WhatIfResult): string {
  const base = w.candidates[0];
  const out: string[] = [];
  out.push('### What each cold-start lever gives (A/B, interleaved in one run)');
  out.push('');
  out.push(
    `Each row is the function as built or a what-if build (\`node scripts/build-lambda.mjs --variant …\`: the alternative to one lever that ships), ` +
      `run ${w.repetitions} times in a rotating order next to one floor run; ratios are p50 ÷ the first row's p50 (${base.name}).`,
  );
  out.push('');
  const header = ['Candidate', 'Node', 'Import p50', 'Import ÷ first'];
  for (const s of w.scenarios) header.push(`${s.id} p50`, `spread`, `÷ first`, `Δ floor`);
  out.push(
    table(
      header,
      w.candidates.map((c) => {
        const row = [
          `**${c.name}** — ${c.description}`,
          c.nodeVersion,
          ms(c.importMs.median),
          fmtRatio(c.importMs.median / base.importMs.median),
        ];
        for (const s of w.scenarios)
          row.push(
            ms(c.cold[s.id].median),
            spread(c.cold[s.id]),
            fmtRatio(c.cold[s.id].median / base.cold[s.id].median),
            `+${ms(c.cold[s.id].median - w.floor[s.id].median)}`,
          );
        return row;
      }),
    ),
  );
  out.push('');
  out.push(
    `Floor (same runs, ${base.nodeVersion}): ${w.scenarios.map((s) => `${s.id} ${ms(w.floor[s.id].median)}`).join(', ')}.`,
  );
  out.push('');
  return out.join('\n');
}
