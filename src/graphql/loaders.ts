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
  // Each loader is made on first use: a predict needs none of them (seven per request cost ≈ 10 µs).
  const made: {
    stagePointer?: DataLoader<`${string}|${Stage}`, Versioned<StagePointer> | null>;
    versionMetadata?: DataLoader<string, VersionMetadata>;
    approval?: DataLoader<string, ApprovalDocument | null>;
    tags?: DataLoader<string, VersionTagsDocument | null>;
    aliases?: DataLoader<string, AliasDocument[]>;
    versions?: DataLoader<string, string[]>;
  } = {};
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
    /** `{model}|{stage}` → its stage pointer. */
    get stagePointer() {
      return (made.stagePointer ??= new DataLoader<`${string}|${Stage}`, Versioned<StagePointer> | null>((keys) =>
        Promise.all(
          keys.map((k) => {
            const [model, stage] = k.split('|') as [string, Stage];
            return runtime.registry.stagePointer(model, stage);
          }),
        ),
      ));
    },
    /** `{model}@{version}` → its metadata (an Error when it cannot be read). */
    get versionMetadata() {
      return (made.versionMetadata ??= new DataLoader<string, VersionMetadata>(
        perVersion((model, version) => runtime.registry.versionMetadata(model, version).catch((e: Error) => e)),
      ));
    },
    /** `{model}@{version}` → its approval document (null: never registered through the API). */
    get approval() {
      return (made.approval ??= new DataLoader<string, ApprovalDocument | null>(
        perVersion(async (model, version) => (await runtime.governance.approval(model, version))?.value ?? null),
      ));
    },
    /** `{model}@{version}` → its tags document (null: never tagged). */
    get tags() {
      return (made.tags ??= new DataLoader<string, VersionTagsDocument | null>(
        perVersion((model, version) => runtime.governance.tags(model, version)),
      ));
    },
    /** model → its alias documents (deleted ones included). */
    get aliases() {
      return (made.aliases ??= new DataLoader<string, AliasDocument[]>((models) =>
        Promise.all(models.map((m) => runtime.governance.aliases(m))),
      ));
    },
    /** model → its versions. */
    get versions() {
      return (made.versions ??= new DataLoader<string, string[]>((models) =>
        Promise.all(models.map((m) => runtime.registry.listVersions(m))),
      ));
    },
  };
}

/** A batch function over `{model}@{version}` keys (the version is what follows the last `@`). */
function perVersion<V>(load: (model: string, version: string) => Promise<V>) {
  return (keys: readonly string[]): Promise<V[]> =>
    Promise.all(
      keys.map((k) => {
        const at = k.lastIndexOf('@');
        return load(k.slice(0, at), k.slice(at + 1));
      }),
    );
}

export type Loaders = ReturnType<typeof createLoaders>;
