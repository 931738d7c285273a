/**
 * The benchmark's results (bench/results/*.json) and their markdown (bench/results/*.md,
 * docs/benchmarks.md): the run's header and goals here; each section renders its own
 * tables beside its measurement (bench/sections/*.ts).
 */
import { renderColdStart, renderWarm, type ColdScenarioResult, type WarmResult } from '../sections/coldStart';
import { renderFeatures, type FeaturesResult } from '../sections/bucketFeatures';
import { renderColdStartParts, type ColdStartParts } from '../sections/coldStartParts';
import { renderHttp, type HttpResult } from '../sections/http';
import { renderMemory, type MemoryResult } from '../sections/memory';
import { renderPortfolio, type PortfolioResult } from '../sections/portfolio';
import { renderThroughput, type ThroughputRow } from '../sections/throughput';
import { renderBulkScoring, type BulkScoringRow } from '../sections/bulkScoring';
import { renderWhatIf, type WhatIfResult } from '../sections/whatIf';
import type { MachineInfo } from './machine';
import { mb, n1, table } from './markdown';

export { scenarioLabel } from '../sections/coldStart';

export interface Goal {
  name: string;
  target: string;
  measured: string;
  met: boolean;
}

export interface BenchResults {
  meta: {
    mode: 'full' | 'smoke';
    machine: MachineInfo;
    /** What the cold-start children imported. */
    handler: {
      kind: 'built' | 'sources';
      description: string;
      bundleBytes?: number;
      layerBytes?: number;
      buildMs?: number;
      buildCommand?: string;
    };
    models: Record<string, { trees: number; depth: number; modelBytes: number; brBytes: number; gzBytes: number }>;
    repetitions: Record<string, number | string>;
    sessionOptions: Record<string, unknown>;
    environment: string[];
    /** os.loadavg() (1, 5, 15 min) when the run started and ended: other work on the machine skews everything. */
    loadAverage: { start: number[]; end: number[] };
    durationsSec: Record<string, number>;
  };
  coldStart: { scenarios: ColdScenarioResult[]; parts: ColdStartParts };
  /** Every cold-start lever A/B: the function as built vs what-if builds, on Lambda's Node (full run only). */
  whatIf?: WhatIfResult;
  warm: WarmResult[];
  portfolio: PortfolioResult;
  throughput: ThroughputRow[];
  /** predictMatrix binary vs JSON vs bare session.run, interleaved. */
  bulk: BulkScoringRow[];
  memory: MemoryResult;
  http: HttpResult;
  /** Ensembles, shadow mode and canary against a directly served ticker (absent in runs before the section existed). */
  features?: FeaturesResult;
  goals: Goal[];
  notes: string[];
}

export function renderMarkdown(r: BenchResults): string {
  const m = r.meta.machine;
  const out: string[] = [];
  out.push(
    `# Modelgraph benchmarks${r.meta.mode === 'smoke' ? ' (smoke run: small sizes, few repetitions — not for conclusions)' : ''}`,
  );
  out.push('');
  out.push(
    `Run ${m.date} on ${m.cpuModel}, ${m.cores} cores, ${m.memoryGiB} GiB, Node ${m.node}, onnxruntime-node ${m.onnxruntimeNode}, ${m.os}. ` +
      `Total ${n1(Object.values(r.meta.durationsSec).reduce((a, b) => a + b, 0))} s (${Object.entries(
        r.meta.durationsSec,
      )
        .map(([k, v]) => `${k} ${n1(v)} s`)
        .join(', ')}).`,
  );
  out.push('');
  out.push(
    `- Handler under test: ${r.meta.handler.description}${r.meta.handler.bundleBytes ? ` — bundle ${mb(r.meta.handler.bundleBytes)}, layer ${mb(r.meta.handler.layerBytes ?? 0)}` : ''}.`,
  );
  out.push(
    `- Models (84 features, 10 classes, TreeEnsembleClassifier built by src/demo/treeEnsemble.ts): ${Object.entries(
      r.meta.models,
    )
      .map(
        ([name, x]) =>
          `${name} = ${x.trees} trees of depth ${x.depth}, ${mb(x.modelBytes)} (.br ${mb(x.brBytes)}, .gz ${mb(x.gzBytes)})`,
      )
      .join('; ')}.`,
  );
  out.push(
    `- Load average (1/5/15 min) at start ${r.meta.loadAverage.start.map((x) => x.toFixed(2)).join('/')}, at end ${r.meta.loadAverage.end.map((x) => x.toFixed(2)).join('/')}.`,
  );
  out.push(`- Everything runs against the embedded S3 server on 127.0.0.1. ${r.meta.environment.join(' ')}`);
  out.push(
    `- Repetitions: ${Object.entries(r.meta.repetitions)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}. p99 is nearest-rank: with fewer than 100 samples it is the maximum.`,
  );
  out.push('');

  out.push('## Goals');
  out.push('');
  out.push(
    table(
      ['Goal', 'Target', 'Measured', 'Met'],
      r.goals.map((g) => [g.name, g.target, g.measured, g.met ? 'yes' : '**no**']),
      true,
    ),
  );
  out.push('');

  out.push(renderColdStart(r.coldStart.scenarios));
  if (r.coldStart.parts) out.push(renderColdStartParts(r.coldStart.parts));
  if (r.whatIf) out.push(renderWhatIf(r.whatIf));
  out.push(renderWarm(r.warm));
  out.push(renderPortfolio(r.portfolio));
  out.push(renderThroughput(r.throughput));
  out.push(renderBulkScoring(r.bulk));
  out.push(renderMemory(r.memory));
  out.push(renderHttp(r.http));
  if (r.features) out.push(renderFeatures(r.features));
  if (r.notes.length) {
    out.push('');
    out.push('## Notes');
    out.push('');
    for (const note of r.notes) out.push(`- ${note}`);
  }
  out.push('');
  return out.join('\n');
}
