import DataLoader from 'dataloader';
import type { Prediction, PredictionRequest } from '../inference/predictor';
import type { Stage } from '../registry/identifiers';
import type { Versioned } from '../registry/registry';
import type { StagePointer, VersionMetadata } from '../registry/versionMetadata';
import type { Runtime } from '../runtime';
import { readPerformanceDocument, type PerformanceDocument } from '../registry/performanceTracking';

/**
 * Per-request DataLoaders. Everything one request asks for is batched and
 * deduplicated here; the process-wide caches behind them survive across
 * requests. Predictions are batched per stage: all `predict` fields and
 * `predictMany` rows of one request that hit one model run as one session call.
 */
export function createLoaders(runtime: Runtime) {
  const predictionLoaders = new Map<Stage, DataLoader<PredictionRequest, Prediction>>();
  let performance: Promise<PerformanceDocument> | undefined;
  return {
    /** metadata/performance_tracking.json, read once per request however many fields need it. */
    performanceDocument(): Promise<PerformanceDocument> {
      return (performance ??= readPerformanceDocument(runtime.store));
    },
    /** After this request wrote the document: the next read goes to S3 again. */
    forgetPerformanceDocument(): void {
      performance = undefined;
    },
    predictions(stage: Stage): DataLoader<PredictionRequest, Prediction> {
      let loader = predictionLoaders.get(stage);
      if (!loader) {
        loader = new DataLoader((requests) => runtime.predictor.predictBatch(requests, stage), {
          cache: false,
          maxBatchSize: runtime.config.MAX_PREDICT_BATCH,
        });
        predictionLoaders.set(stage, loader);
      }
      return loader;
    },
    stagePointer: new DataLoader<`${string}|${Stage}`, Versioned<StagePointer> | null>((keys) =>
      Promise.all(
        keys.map((k) => {
          const [model, stage] = k.split('|') as [string, Stage];
          return runtime.registry.stagePointer(model, stage);
        }),
      ),
    ),
    versionMetadata: new DataLoader<string, VersionMetadata>((keys) =>
      Promise.all(
        keys.map((k) => {
          const at = k.lastIndexOf('@');
          return runtime.registry.versionMetadata(k.slice(0, at), k.slice(at + 1)).catch((e: Error) => e);
        }),
      ),
    ),
    versions: new DataLoader<string, string[]>((models) =>
      Promise.all(models.map((m) => runtime.registry.listVersions(m))),
    ),
  };
}
export type Loaders = ReturnType<typeof createLoaders>;
