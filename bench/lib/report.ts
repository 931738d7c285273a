/** The benchmark's results (bench/results/*.json) and their markdown table (bench/results/*.md, docs/benchmarks.md). */
import type { ColdScenarioResult, FloorSlice, HandlerSlice, WarmResult } from '../sections/coldStart';
import type { FeaturesResult } from '../sections/bucketFeatures';
import type { ColdStartParts } from '../sections/coldStartParts';
import type { HttpResult } from '../sections/http';
import type { MemoryLoop, MemoryResult } from '../sections/memory';
import type { PortfolioResult } from '../sections/portfolio';
import type { ThroughputRow } from '../sections/throughput';
import type { BulkScoringRow } from '../sections/bulkScoring';
import type { MachineInfo } from './machine';
import { fmtInt, fmtRatio, ms, spread } from './stats';

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
  /** The function built from a copy of the sources with the proposed patches (full run only). */
  whatIf?: {
    applied: Array<{ name: string; description: string }>;
    skipped: Array<{ name: string; reason: string }>;
    scenarios: ColdScenarioResult[];
    warm: WarmResult[];
  };
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

const HANDLER_SLICE_LABELS: Record<HandlerSlice, string> = {
  processStart: 'process start (Node bootstrap)',
  moduleLoadAndInit: 'import handler module (load + module-scope init)',
  s3Metadata: 'S3: registry, pointer, feature names (not overlapped)',
  modelFetch: 'S3: model GET',
  diskRead: 'disk cache read + verify',
  checksum: 'sha256 of the model',
  decompress: 'decompress (.br / .gz)',
  ortImport: 'import onnxruntime-node',
  sessionCreate: 'onnxruntime session creation',
  probe: 'probe run (load-time check)',
  inference: 'inference (session.run)',
  beforeFirstS3: 'invocation → first S3 request (integration, GraphQL parse/validate, resolver, SDK request set-up)',
  otherDuringLoad: 'other work between S3 requests and the session (routing, parsing, SDK)',
  afterInference: 'after inference (answer objects, GraphQL execution, JSON)',
  spawnAndPipe: 'fork/exec + stdout pipe',
};

const FLOOR_SLICE_LABELS: Record<FloorSlice, string> = {
  processStart: 'process start (Node bootstrap)',
  fetch: 'GET model bytes (node:http) / read file',
  ortImportNotOverlapped: 'require onnxruntime-node (beyond the GET)',
  decompress: 'decompress (.br / .gz)',
  sessionCreate: 'onnxruntime session creation',
  inference: 'inference (session.run)',
  other: 'other',
  spawnAndPipe: 'fork/exec + stdout pipe',
};

const mb = (bytes: number) => `${(bytes / 1e6).toFixed(2)} MB`;
const n1 = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : '–');

/** A markdown table: the first column (or every column, with `leftAll`) left-aligned, the others right-aligned. */
function table(header: string[], rows: string[][], leftAll = false): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map((_, i) => (i === 0 || leftAll ? '---' : '---:'))), ...rows.map(line)].join(
    '\n',
  );
}

export function scenarioLabel(s: { size: string; file: string; disk: string; warmModels?: boolean }): string {
  const disk = s.disk === 'off' ? 'no disk cache' : s.disk === 'empty' ? 'empty disk cache' : 'filled disk cache';
  return `${s.size}, ${s.file}, ${disk}${s.warmModels ? ', WARM_MODELS' : ''}`;
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

  out.push('## 1. Cold start to first prediction (fresh process → answered `predict`)');
  out.push('');
  out.push(
    table(
      ['Scenario', 'n', 'Modelgraph p50', 'p99', 'spread', 'Floor p50', 'Floor p99', 'Floor spread', 'Ratio', 'Δ p50'],
      r.coldStart.scenarios.map((s) => [
        `${scenarioLabel(s)}${s.headline ? ' **(goal)**' : ''}`,
        String(s.handler.n),
        ms(s.handler.median),
        ms(s.handler.p99),
        spread(s.handler),
        ms(s.floor.median),
        ms(s.floor.p99),
        spread(s.floor),
        fmtRatio(s.ratio),
        `+${ms(s.deltaMs)}`,
      ]),
    ),
  );
  out.push('');
  out.push(
    "Where the handler's time goes (medians; exclusive slices — overlapping work is counted once, under the first matching row):",
  );
  out.push('');
  const scen = r.coldStart.scenarios;
  /** One column per scenario, one row per slice, then the total of the slices. */
  const breakdownTable = <K extends string>(
    labels: Record<K, string>,
    of: (s: (typeof scen)[number]) => Record<K, number>,
    extraRows: string[][] = [],
  ) => {
    const keys = Object.keys(labels) as K[];
    return table(
      ['Slice', ...scen.map((s) => scenarioLabel(s).replace(', ', ' ').replace('disk cache', 'disk'))],
      [
        ...keys.map((k) => [labels[k], ...scen.map((s) => ms(of(s)[k]))]),
        ['**total (p50 of sums)**', ...scen.map((s) => ms(keys.reduce((a, k) => a + of(s)[k], 0)))],
        ...extraRows,
      ],
    );
  };
  out.push(
    breakdownTable(HANDLER_SLICE_LABELS as Record<HandlerSlice, string>, (s) => s.handlerBreakdown, [
      ['S3 requests before the answer', ...scen.map((s) => String(s.handlerS3Requests))],
    ]),
  );
  out.push('');
  out.push("The floor's time (medians):");
  out.push('');
  out.push(breakdownTable(FLOOR_SLICE_LABELS as Record<FloorSlice, string>, (s) => s.floorBreakdown));
  const first = scen.find((s) => s.headline) ?? scen[0];
  if (first) {
    out.push('');
    out.push(
      `S3 requests of one cold handler run (${scenarioLabel(first)}), in order: ${first.handlerS3Log.map((q) => `${q.method} ${q.path.split('/').slice(-3).join('/')} (${n1(q.ms)} ms)`).join(', ')}.`,
    );
  }
  out.push('');

  const parts = r.coldStart.parts;
  out.push('### What the module load and the model fetch are made of');
  out.push('');
  out.push(
    'Each heavy dependency of the Lambda bundle bundled alone with the options of scripts/build-lambda.mjs, imported by a fresh process (spawn → module evaluated, medians):',
  );
  out.push('');
  out.push(
    table(
      ['Module', 'Bundle', 'p50', 'p99', 'spread'],
      parts.imports.map((i) => [i.name, i.bytes ? mb(i.bytes) : '–', ms(i.ms.median), ms(i.ms.p99), spread(i.ms)]),
    ),
  );
  out.push('');
  out.push(
    `Fetching the large model (${mb(parts.fetchedBytes)}) from the embedded S3 server in a fresh process (plain node:http):`,
  );
  out.push('');
  out.push(
    table(
      ['Strategy', 'Download p50', 'Download + sha256 p50', 'p99', 'spread'],
      parts.fetches.map((f) => [f.name, ms(f.fetch.median), ms(f.total.median), ms(f.total.p99), spread(f.total)]),
    ),
  );
  out.push('');

  const w = r.whatIf;
  if (w) {
    out.push('### What the proposed changes give (measured: the function rebuilt from a patched copy of the sources)');
    out.push('');
    out.push('Patches applied by bench/lib/variantBuild.ts before `scripts/build-lambda.mjs` runs on the copy:');
    out.push('');
    for (const p of w.applied) out.push(`- **${p.name}**: ${p.description}.`);
    for (const p of w.skipped) out.push(`- skipped ${p.name}: ${p.reason}.`);
    out.push('');
    out.push(
      table(
        [
          'Scenario',
          'As built p50',
          'Patched p50',
          'Floor p50 (same run)',
          'As built ratio',
          'Patched ratio',
          'Patched Δ',
        ],
        w.scenarios.map((sc) => {
          const base = r.coldStart.scenarios.find((x) => x.id === sc.id);
          return [
            scenarioLabel(sc),
            base ? ms(base.handler.median) : '–',
            ms(sc.handler.median),
            ms(sc.floor.median),
            base ? fmtRatio(base.ratio) : '–',
            fmtRatio(sc.ratio),
            `+${ms(sc.deltaMs)}`,
          ];
        }),
      ),
    );
    out.push('');
    out.push(
      table(
        ['Warm, model', 'As built p50', 'Patched p50', 'Patched bare p50', 'Patched overhead p50', 'Patched p99'],
        w.warm.map((x) => {
          const base = r.warm.find((b) => b.size === x.size);
          return [
            x.size,
            base ? ms(base.handler.median) : '–',
            ms(x.handler.median),
            ms(x.bare.median),
            ms(x.overheadP50Ms),
            ms(x.handler.p99),
          ];
        }),
      ),
    );
    out.push('');
  }

  out.push('## 2. Warm single prediction');
  out.push('');
  out.push(
    table(
      [
        'Model',
        'n',
        'Handler p50',
        'Handler p99',
        'Bare session.run p50',
        'Bare p99',
        'Overhead p50',
        'Overhead p99',
        'Handler p50, LOG_LEVEL=SILENT',
      ],
      r.warm.map((w) => [
        w.size,
        String(w.handler.n),
        ms(w.handler.median),
        ms(w.handler.p99),
        ms(w.bare.median),
        ms(w.bare.p99),
        ms(w.overheadP50Ms),
        ms(w.overheadP99Ms),
        ms(w.handlerSilent.median),
      ]),
    ),
  );
  out.push('');
  out.push(
    'Handler = `await handler(apiGatewayV2Event, context)` in the process that served the cold start (event body JSON → GraphQL → JSON result, LOG_LEVEL=INFO as template.yaml sets it: a log line and an EMF metrics line per invocation, written to a pipe); bare = `session.run` of one row (new input tensor each time) in a fresh process with the same session options.',
  );
  out.push('');

  const p = r.portfolio;
  out.push(
    `## 3. Portfolio: one \`predictMany\` over ${p.tickers} tickers (${p.distinctModels} distinct models), local server over HTTP`,
  );
  out.push('');
  out.push(
    table(
      ['Pass', 'n', 'Time p50', 'p99', 'S3 requests', 'Model fetches', 'Other S3', 'Session runs', 'Model loads'],
      (['cold', 'warm'] as const).map((k) => [
        k,
        String(p[k].ms.n),
        ms(p[k].ms.median),
        ms(p[k].ms.p99),
        String(p[k].s3Requests),
        String(p[k].s3ModelFetches),
        String(p[k].s3OtherRequests),
        String(p[k].sessionRuns),
        String(p[k].modelLoads),
      ]),
    ),
  );
  out.push('');
  out.push(
    `Cold S3 requests by kind: ${Object.entries(p.coldRequestKinds)
      .map(([k, v]) => `${k} × ${v}`)
      .join(', ')}.`,
  );
  out.push('');

  out.push('## 4. Throughput: `predictMany` rows of one model vs bare `session.run` of the same batch');
  out.push('');
  out.push(
    table(
      [
        'Model',
        'Rows',
        'n',
        'Request',
        'Response',
        'GraphQL over HTTP p50',
        'rows/s',
        'In-process p50',
        'Predictor p50',
        'Validation p50',
        'JSON only p50',
        'Bare p50',
        'Bare rows/s',
        'HTTP/bare',
        'predictMatrix p50',
        'matrix request',
        'matrix/bare',
      ],
      r.throughput.map((t) => [
        t.size,
        fmtInt(t.rows),
        String(t.repetitions),
        mb(t.requestBytes),
        mb(t.responseBytes),
        ms(t.graphql.median),
        fmtInt(t.graphqlRowsPerSec),
        ms(t.inProcess.median),
        ms(t.predictor.median),
        ms(t.validation.median),
        ms(t.json.median),
        ms(t.bare.median),
        fmtInt(t.bareRowsPerSec),
        `${(t.ratio * 100).toFixed(0)}%`,
        t.matrix ? ms(t.matrix.median) : '–',
        t.matrix ? mb(t.matrixRequestBytes) : '–',
        t.matrix ? `${(t.matrixRatio * 100).toFixed(0)}%` : '–',
      ]),
    ),
  );
  out.push('');
  out.push(
    "GraphQL over HTTP = POST to the local server on loopback until the whole response text is read (server: JSON parse, GraphQL validation, variable coercion and execution, per-row validation, one session.run, answer objects, JSON serialization); the goal's ratio is bare p50 ÷ this p50. In-process = the same GraphQL server without the socket (createGraphQLServer + executeHTTPGraphQLRequest, body parsed from JSON) (the server disables the Apollo cache-control plugin, which wrapped every field). Predictor = `runtime.predictor.predictBatch` alone (routing, validation, session.run, answer objects). Validation = the feature validator over every row. JSON only = `JSON.parse` of the request body + `JSON.stringify` of the response object: what any JSON API of this shape pays. predictMatrix = the same rows as number arrays in feature-name order through the columnar operation, over HTTP.",
  );
  out.push('');

  const mem = r.memory;
  renderBulkScoring(out, r.bulk);
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

  out.push(`## 6. HTTP: local server under autocannon, one \`predict\` (${r.http.ticker}) on 127.0.0.1`);
  out.push('');
  out.push(
    table(
      ['Connections', 'Duration s', 'Requests', 'Req/s', 'Latency mean', 'p50', 'p99', 'max', 'Non-2xx', 'Errors'],
      r.http.loads.map((l) => [
        String(l.connections),
        String(l.durationSec.toFixed(1)),
        fmtInt(l.requests),
        fmtInt(l.requestsPerSec),
        ms(l.latencyMeanMs),
        ms(l.latencyP50Ms),
        ms(l.latencyP99Ms),
        ms(l.latencyMaxMs),
        String(l.non2xx),
        String(l.errors),
      ]),
    ),
  );
  out.push('');
  out.push(
    "The server runs in its own process (tsx, as `npm start` does, with NODE_ENV=production); autocannon runs in the benchmark process. Latencies are each 2xx response's own time as autocannon measures it (its histogram keeps whole milliseconds, so the percentiles are computed here).",
  );
  if (r.features) renderFeatures(out, r.features);
  if (r.notes.length) {
    out.push('');
    out.push('## Notes');
    out.push('');
    for (const note of r.notes) out.push(`- ${note}`);
  }
  out.push('');
  return out.join('\n');
}

/** Section 7: what ensembles, shadow mode and canary cost against one directly served model, measured in the same run. */
export function renderFeatures(out: string[], f: FeaturesResult): void {
  out.push('');
  out.push('## 7. Ensembles, shadow mode, canary: warm cost against one directly served model, local server over HTTP');
  out.push('');
  out.push(
    `Every model involved has the demo models' size: ${f.trees} trees of depth ${f.depth}, ${(f.modelBytes / 1024).toFixed(0)} KiB. ` +
      `Ensemble: ${f.ensemble.model}@${f.ensemble.version}${f.ensemble.registered ? ' (registered by the benchmark)' : ''}, ${f.ensemble.voting} vote of ${f.ensemble.members.join(', ')}.`,
  );
  out.push('');
  out.push(`One \`predict\` (${f.single.count} per case after ${f.single.warmup} warm-up, the cases interleaved):`);
  out.push('');
  out.push(
    table(
      ['Case', 'Ticker', 'Served by', 'Session runs', 'p50', 'p95', 'p99', 'p50 ÷ direct', 'p95 ÷ direct'],
      f.single.cases.map((c) => [
        c.label,
        c.ticker,
        c.servedBy,
        String(c.sessionRunsPerRequest),
        ms(c.ms.median),
        ms(c.p95Ms),
        ms(c.ms.p99),
        fmtRatio(c.ratio),
        fmtRatio(c.p95Ratio),
      ]),
    ),
  );
  out.push('');
  out.push(
    `\`predictMany\` of ${fmtInt(f.batch.rows)} rows of one ticker (${f.batch.repetitions} per case after one warm-up, interleaved):`,
  );
  out.push('');
  out.push(
    table(
      [
        'Case',
        'Session runs',
        'Rows run',
        'Request',
        'Response',
        'HTTP p50',
        'HTTP p99',
        'HTTP ÷ direct',
        'Predictor p50',
        'Predictor ÷ direct',
      ],
      f.batch.cases.map((c) => [
        c.label,
        String(c.sessionRunsPerRequest),
        fmtInt(c.rowsRunPerRequest),
        mb(c.requestBytes),
        mb(c.responseBytes),
        ms(c.ms.median),
        ms(c.ms.p99),
        fmtRatio(c.ratio),
        ms(c.predictorMs.median),
        fmtRatio(c.predictorRatio),
      ]),
    ),
  );
  out.push('');
  out.push(
    `Each case is its own model with the same bytes (v1 in production, v2 in staging), so the cases run interleaved in one window: shadow = \`configureTraffic(shadow: true)\`, canary = \`configureTraffic(canaryPercent: ${f.canaryPercent})\`, one ticker on each side of the canary hash. ` +
      'Before timing, one request per case checks what answered (stage, canary, shadow version, ensemble members). Session runs and rows run per request come from runtime.models.counters; ' +
      'Predictor = `runtime.predictor.predictBatch` of the same rows in-process (routing, validation, runs, votes, answer objects; no GraphQL, no JSON).',
  );
  const r = f.shadowReads;
  out.push('');
  out.push(
    `\`Model.shadowAgreement\` after ${fmtInt(r.flushes)} flushes of one pair of versions, read by a fresh instance (nothing cached; ${r.repetitions} reads per case, interleaved), ` +
      `with the count files left as written and compacted every ${r.compactAfterFiles} files (SHADOW_COMPACT_FILES' default):`,
  );
  out.push('');
  out.push(
    table(
      [
        'Case',
        'Objects read from',
        'GETs per read',
        'LISTs per read',
        'p50',
        'p99',
        'p50 ÷ uncompacted',
        'Writing the flushes',
      ],
      r.cases.map((c) => [
        c.name,
        fmtInt(c.objects),
        String(c.getsPerRead),
        String(c.listsPerRead),
        ms(c.ms.median),
        ms(c.ms.p99),
        fmtRatio(c.ms.median / r.cases[0].ms.median),
        ms(r.writeMs[c.name]),
      ]),
    ),
  );
}

function renderBulkScoring(out: string[], bulk: BulkScoringRow[] | undefined): void {
  if (!bulk?.length) return;
  out.push('### Bulk scoring: `predictMatrix` with binary rows vs JSON rows vs bare `session.run`');
  out.push('');
  out.push(
    table(
      [
        'Model',
        'Rows',
        'Reps',
        'Binary p50',
        'Binary rows/s',
        'Binary/bare',
        'JSON p50',
        'JSON/bare',
        'Bare p50',
        'Request binary / JSON',
        'Response binary / JSON',
      ],
      bulk.map((b) => [
        b.size,
        fmtInt(b.rows),
        String(b.repetitions),
        ms(b.binary.median),
        fmtInt(b.binaryRowsPerSec),
        `${(b.binaryRatio * 100).toFixed(0)}%`,
        ms(b.json.median),
        `${(b.jsonRatio * 100).toFixed(0)}%`,
        ms(b.bare.median),
        `${mb(b.binaryRequestBytes)} / ${mb(b.jsonRequestBytes)}`,
        `${mb(b.binaryResponseBytes)} / ${mb(b.jsonResponseBytes)}`,
      ]),
    ),
  );
  out.push('');
  out.push(
    'One `predictMatrix` over HTTP to the local server until the whole response text is read. Binary = `rowsF32` (little-endian float32, base64) in, `strategyIndexes` + `probabilitiesF32` out; JSON = `rows` (number arrays) in, `strategies` + `confidences` + `probabilities` out. Bare = `session.run` of the same float32 rows in the same process. The three cases alternate within each repetition (rotating order) after one unmeasured warm-up each; ratios are bare p50 ÷ case p50.',
  );
  out.push('');
}
