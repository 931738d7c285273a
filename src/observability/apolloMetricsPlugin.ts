import type { ApolloServerPlugin } from '@apollo/server';
import type { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import type { GraphQLContext } from '../graphql/context';
import type { Runtime } from '../runtime';
import { ErrorCode } from '../errors';
import { MetricName, MetricUnit } from './metrics';

/** The process-wide counters a request is measured by (deltas between its start and its response). */
interface CounterSnapshot {
  modelCacheHits: number;
  modelCacheMisses: number;
  modelLoads: number;
  modelEvictions: number;
  s3Gets: number;
  artifactFetches: number;
  diskHits: number;
  rowsPredicted: number;
  predictionBatches: number;
  predictionMs: number;
  shadowRows: number;
  shadowAgreements: number;
  shadowFailures: number;
  canaryRows: number;
}

function snapshot(runtime: Runtime): CounterSnapshot {
  return {
    modelCacheHits: runtime.models.counters.hits,
    modelCacheMisses: runtime.models.counters.misses,
    modelLoads: runtime.models.counters.loads,
    modelEvictions: runtime.models.counters.evictions,
    s3Gets: runtime.store.counters.gets,
    artifactFetches: runtime.artifacts.counters.s3Fetches,
    diskHits: runtime.artifacts.counters.diskHits,
    rowsPredicted: runtime.models.counters.rowsPredicted,
    predictionBatches: runtime.predictor.counters.batches,
    predictionMs: runtime.predictor.counters.batchMs,
    shadowRows: runtime.predictor.counters.shadowRows,
    shadowAgreements: runtime.predictor.counters.shadowAgreements,
    shadowFailures: runtime.predictor.counters.shadowFailures,
    canaryRows: runtime.predictor.counters.canaryRows,
  };
}

function delta(now: CounterSnapshot, before: CounterSnapshot): CounterSnapshot {
  const out = {} as CounterSnapshot;
  for (const k of Object.keys(now) as (keyof CounterSnapshot)[]) out[k] = now[k] - before[k];
  return out;
}

/**
 * Per request: one structured log line (operation name, status, duration,
 * error codes, what the caches and S3 did) and the EMF metrics ModelCacheHit,
 * ModelCacheMiss, S3Fetches (S3 GETs, including 304 revalidations),
 * PredictionLatency (time spent in the request's prediction batches),
 * StorageUnavailable (errors with that code) and, when they happen,
 * RowsPredicted, ModelCacheEvictions, ShadowRows / ShadowAgreements /
 * ShadowFailures / CanaryRows.
 * ModelLoadTime comes from the model cache's onLoad hook (see lambda.ts).
 *
 * The numbers are deltas of process-wide counters, exact on Lambda (one
 * request at a time per process) and approximate under local concurrency.
 * Never logged: the query text, variables, headers or feature values.
 */
export function createApolloMetricsPlugin(opts: {
  runtime: Runtime;
  logger: Logger;
  metrics: Metrics;
}): ApolloServerPlugin<GraphQLContext> {
  const { runtime, logger, metrics } = opts;
  return {
    async requestDidStart() {
      const started = performance.now();
      const before = snapshot(runtime);
      return {
        async willSendResponse({ response, operationName, operation }) {
          const d = delta(snapshot(runtime), before);
          metrics.addMetric(MetricName.ModelCacheHit, MetricUnit.Count, d.modelCacheHits);
          metrics.addMetric(MetricName.ModelCacheMiss, MetricUnit.Count, d.modelCacheMisses);
          metrics.addMetric(MetricName.S3Fetches, MetricUnit.Count, d.s3Gets);
          // From the Predictor's own counters: a willResolveField hook here would make Apollo wrap every field.
          const predictionMs = d.predictionBatches > 0 ? round(d.predictionMs) : undefined;
          if (predictionMs !== undefined)
            metrics.addMetric(MetricName.PredictionLatency, MetricUnit.Milliseconds, predictionMs);
          if (d.shadowRows > 0) {
            metrics.addMetric(MetricName.ShadowRows, MetricUnit.Count, d.shadowRows);
            metrics.addMetric(MetricName.ShadowAgreements, MetricUnit.Count, d.shadowAgreements);
          }
          if (d.shadowFailures > 0) metrics.addMetric(MetricName.ShadowFailures, MetricUnit.Count, d.shadowFailures);
          if (d.canaryRows > 0) metrics.addMetric(MetricName.CanaryRows, MetricUnit.Count, d.canaryRows);
          if (d.rowsPredicted > 0) metrics.addMetric(MetricName.RowsPredicted, MetricUnit.Count, d.rowsPredicted);
          if (d.modelEvictions > 0)
            metrics.addMetric(MetricName.ModelCacheEvictions, MetricUnit.Count, d.modelEvictions);
          const errors = response.body.kind === 'single' ? response.body.singleResult.errors : undefined;
          // Always published (0 included), so its alarm sees data whenever requests arrive.
          const storageErrors = errors?.filter((e) => e.extensions?.code === ErrorCode.STORAGE_UNAVAILABLE).length ?? 0;
          metrics.addMetric(MetricName.StorageUnavailable, MetricUnit.Count, storageErrors);
          logger.info('graphql request', {
            operationName: operationName ? operationName.slice(0, 100) : null,
            operationType: operation?.operation ?? null,
            status: response.http.status ?? 200,
            durationMs: round(performance.now() - started),
            predictionMs: predictionMs ?? null,
            errorCodes: errors?.map((e) => String(e.extensions?.code ?? 'INTERNAL_SERVER_ERROR')) ?? [],
            counters: { ...d, predictionMs: round(d.predictionMs) },
          });
        },
      };
    },
  };
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
