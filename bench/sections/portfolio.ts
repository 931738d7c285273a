/**
 * Section 3: one `predictMany` over a 50-ticker portfolio (5 ETFs + 45 stocks,
 * so 6 distinct models), through the local server over HTTP. Cold means the
 * process-wide caches are empty (pointers, asset registry, loaded models);
 * warm repeats the identical request. S3 requests come from the embedded
 * server's request log, session runs and loads from runtime.models.counters.
 */
import { DEMO_ETFS, DEMO_STOCKS } from '../../src/local/demoSeed';
import type { BenchBucket } from '../lib/benchBucket';
import { featureRow, PREDICT_MANY_QUERY } from '../lib/graphqlPayloads';
import type { BenchLocalServer } from '../lib/localStack';
import { table } from '../lib/markdown';
import { ms, summarize, type Summary } from '../lib/stats';

export interface PortfolioPass {
  ms: Summary;
  /** Per request (identical in every repetition, else the maximum is reported and a note is added). */
  s3Requests: number;
  s3ModelFetches: number;
  s3OtherRequests: number;
  sessionRuns: number;
  modelLoads: number;
}

export interface PortfolioResult {
  tickers: number;
  distinctModels: number;
  cold: PortfolioPass;
  warm: PortfolioPass;
  /** The S3 requests of one cold pass, grouped: "GET model.onnx" → 6 … */
  coldRequestKinds: Record<string, number>;
  notes: string[];
}

const MODEL_FILE = /\/model\.onnx(\.br|\.gz)?$/;

export async function runPortfolio(
  bucket: BenchBucket,
  local: BenchLocalServer,
  opts: { repetitions: number; log: (line: string) => void },
): Promise<PortfolioResult> {
  const { runtime } = local.server;
  const tickers = [...Object.keys(DEMO_ETFS), ...Object.keys(DEMO_STOCKS).slice(0, 45)];
  const body = Buffer.from(
    JSON.stringify({
      query: PREDICT_MANY_QUERY,
      variables: { requests: tickers.map((ticker, i) => ({ ticker, features: featureRow(i) })) },
    }),
  );
  const distinctModels = new Set(
    (await Promise.all(tickers.map((t) => runtime.registry.resolveTicker(t)))).map((a) => a.modelId),
  ).size;
  const notes: string[] = [];

  const pass = async () => {
    bucket.s3.resetRequests();
    const runs = runtime.models.counters.sessionRuns;
    const loads = runtime.models.counters.loads;
    const started = performance.now();
    const res = await local.post(body);
    const ms = performance.now() - started;
    const parsed = JSON.parse(res.text) as { data?: { predictMany?: unknown[] }; errors?: unknown };
    if (res.status !== 200 || parsed.errors || parsed.data?.predictMany?.length !== tickers.length) {
      throw new Error(`portfolio predictMany failed (${res.status}): ${res.text.slice(0, 500)}`);
    }
    const log = bucket.s3.requests();
    return {
      ms,
      s3Requests: log.length,
      s3ModelFetches: log.filter((r) => r.method === 'GET' && MODEL_FILE.test(r.key)).length,
      sessionRuns: runtime.models.counters.sessionRuns - runs,
      modelLoads: runtime.models.counters.loads - loads,
      kinds: log.reduce<Record<string, number>>((acc, r) => {
        const kind = `${r.method} ${r.key.split('/').pop() || r.key || '(bucket)'}${r.status === 304 ? ' (304)' : ''}`;
        acc[kind] = (acc[kind] ?? 0) + 1;
        return acc;
      }, {}),
    };
  };

  const cold: Awaited<ReturnType<typeof pass>>[] = [];
  const warm: Awaited<ReturnType<typeof pass>>[] = [];
  for (let r = 0; r < opts.repetitions; r++) {
    // Cold: forget pointers and the asset registry, release every loaded model.
    runtime.registry.invalidate();
    runtime.models.clear();
    cold.push(await pass());
    warm.push(await pass());
  }
  const summarizePass = (passes: typeof cold, label: string): PortfolioPass => {
    const fields = ['s3Requests', 's3ModelFetches', 'sessionRuns', 'modelLoads'] as const;
    const out = { ms: summarize(passes.map((p) => p.ms)) } as PortfolioPass;
    for (const f of fields) {
      const values = new Set(passes.map((p) => p[f]));
      if (values.size > 1) notes.push(`${label} ${f} varied between repetitions: ${[...values].join(', ')}`);
      out[f] = Math.max(...values);
    }
    out.s3OtherRequests = out.s3Requests - out.s3ModelFetches;
    return out;
  };
  const result: PortfolioResult = {
    tickers: tickers.length,
    distinctModels,
    cold: summarizePass(cold, 'cold'),
    warm: summarizePass(warm, 'warm'),
    coldRequestKinds: cold[0].kinds,
    notes,
  };
  opts.log(
    `portfolio: cold ${result.cold.ms.median.toFixed(1)} ms, ${result.cold.s3ModelFetches} model fetches, ${result.cold.sessionRuns} runs, ${result.cold.s3Requests} S3 requests; ` +
      `warm ${result.warm.ms.median.toFixed(1)} ms, ${result.warm.s3Requests} S3 requests, ${result.warm.sessionRuns} runs`,
  );
  return result;
}

/** Section 3: the 50-ticker portfolio, cold and warm. */
export function renderPortfolio(p: PortfolioResult): string {
  const out: string[] = [];
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
  return out.join('\n');
}
