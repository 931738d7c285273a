import DataLoader from 'dataloader';
import type { Prediction, PredictionRequest } from '../inference/predictor';
import type { AliasDocument, ApprovalDocument, VersionTagsDocument } from '../registry/governanceRecords';
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
  const predictionLoaders = new Map<string, DataLoader<PredictionRequest, Prediction>>();
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
    /** Predictions served by `stage`, or by `alias` when one is given (one batch per alias). */
    predictions(stage: Stage, alias: string | null = null): DataLoader<PredictionRequest, Prediction> {
      const key = alias === null ? stage : `alias:${alias}`;
      let loader = predictionLoaders.get(key);
      if (!loader) {
        loader = new DataLoader((requests) => runtime.predictor.predictBatch(requests, stage, alias), {
          cache: false,
          maxBatchSize: runtime.config.MAX_PREDICT_BATCH,
        });
        predictionLoaders.set(key, loader);
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
    /** `{model}@{version}` → its approval document (null: never registered through the API). */
    approval: new DataLoader<string, ApprovalDocument | null>((keys) =>
      Promise.all(
        keys.map(async (k) => {
          const at = k.lastIndexOf('@');
          return (await runtime.governance.approval(k.slice(0, at), k.slice(at + 1)))?.value ?? null;
        }),
      ),
    ),
    /** `{model}@{version}` → its tags document (null: never tagged). */
    tags: new DataLoader<string, VersionTagsDocument | null>((keys) =>
      Promise.all(
        keys.map((k) => {
          const at = k.lastIndexOf('@');
          return runtime.governance.tags(k.slice(0, at), k.slice(at + 1));
        }),
      ),
    ),
    /** model → its alias documents (deleted ones included). */
    aliases: new DataLoader<string, AliasDocument[]>((models) =>
      Promise.all(models.map((m) => runtime.governance.aliases(m))),
    ),
    versions: new DataLoader<string, string[]>((models) =>
      Promise.all(models.map((m) => runtime.registry.listVersions(m))),
    ),
  };
}
export type Loaders = ReturnType<typeof createLoaders>;
