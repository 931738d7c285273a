import { ModelgraphError, ModelNotDeployedError, UnknownAssetError } from '../errors';
import type { Asset } from '../registry/assetRegistry';
import { parseTicker, type Stage } from '../registry/identifiers';
import type { AssetDirectory, Registry } from '../registry/registry';
import { argmax, type ModelBundle } from './modelBundle';
import { parseFeatureMatrix } from './featureMatrix';
import type { ModelCache } from './modelCache';

export interface PredictionRequest {
  ticker: string;
  features: unknown;
  /** Shown in error messages, e.g. "requests[3]". */
  where?: string;
}

/** Many rows of one ticker's model, answered column-wise. */
export interface PredictionMatrix {
  asset: Asset;
  model: string;
  version: string;
  stage: Stage;
  featureNames: readonly string[];
  labels: readonly string[];
  strategies: string[];
  confidences: number[];
  /** Per row, every label's probability in `labels` order. */
  probabilities: number[][];
}

export interface Prediction {
  ticker: string;
  asset: Asset;
  strategy: string;
  confidence: number;
  probabilities: { label: string; probability: number }[];
  model: string;
  version: string;
  stage: Stage;
}

/**
 * Tickers → models → one batched session.run per model. Each ticker is resolved
 * through the asset registry, each distinct model through its stage pointer
 * (once per batch), and every row of one model runs in a single onnxruntime call.
 */
export class Predictor {
  constructor(
    private readonly registry: Registry,
    private readonly models: ModelCache,
  ) {}

  /** The loaded bundle serving a model's stage: pointer → immutable version → cached session. */
  async deployedBundle(model: string, stage: Stage = 'PRODUCTION'): Promise<ModelBundle> {
    const pointer = await this.registry.stagePointer(model, stage);
    if (!pointer) throw new ModelNotDeployedError(model, stage);
    return this.models.get(model, pointer.value.version, pointer.value);
  }

  /**
   * deployedBundle(), retried if the cache evicted (and released) the bundle in
   * the moment between the lookup and our continuation: callers run it right
   * away, synchronously, and a run in flight keeps a bundle alive.
   */
  private async liveBundle(model: string, stage: Stage): Promise<ModelBundle> {
    let bundle = await this.deployedBundle(model, stage);
    for (let retry = 0; bundle.isReleased && retry < 3; retry++) bundle = await this.deployedBundle(model, stage);
    return bundle;
  }

  /**
   * Bulk scoring: rows of numbers in the model's feature order, one session.run.
   * `featureNames` must equal the serving version's (see parseFeatureMatrix).
   */
  async predictMatrix(ticker: string, featureNames: readonly string[], rows: unknown, stage: Stage, maxRows: number): Promise<PredictionMatrix> {
    const asset = await this.registry.resolveTicker(parseTicker(ticker));
    const bundle = await this.liveBundle(asset.modelId, stage);
    const { input, n } = parseFeatureMatrix(bundle.featureNames, featureNames, rows, maxRows);
    const probs = await this.models.run(bundle, input, n);
    const classes = bundle.labels.length;
    const strategies = new Array<string>(n);
    const confidences = new Array<number>(n);
    const probabilities = new Array<number[]>(n);
    for (let r = 0; r < n; r++) {
      const from = r * classes;
      const best = argmax(probs, from, classes);
      strategies[r] = bundle.labels[best];
      confidences[r] = probs[from + best];
      probabilities[r] = Array.from(probs.subarray(from, from + classes));
    }
    return { asset, model: bundle.model, version: bundle.version, stage, featureNames: bundle.featureNames, labels: bundle.labels, strategies, confidences, probabilities };
  }

  /** One answer (or error) per request, in order. Errors are per request: one bad row does not sink the others. */
  /** Batches answered and the time spent in them (ms), for metrics: PredictionLatency is a per-request delta. */
  readonly counters = { batches: 0, batchMs: 0 };

  async predictBatch(requests: readonly PredictionRequest[], stage: Stage = 'PRODUCTION'): Promise<Array<Prediction | Error>> {
    const started = performance.now();
    try {
      return await this.answerBatch(requests, stage);
    } finally {
      this.counters.batches++;
      this.counters.batchMs += performance.now() - started;
    }
  }

  private async answerBatch(requests: readonly PredictionRequest[], stage: Stage): Promise<Array<Prediction | Error>> {
    const results: Array<Prediction | Error> = new Array(requests.length);
    const assets = await this.resolveTickers(requests);

    const byModel = new Map<string, number[]>();
    assets.forEach((a, i) => {
      if (a instanceof Error) results[i] = a;
      else {
        const indexes = byModel.get(a.modelId);
        if (indexes) indexes.push(i);
        else byModel.set(a.modelId, [i]);
      }
    });

    await Promise.all(
      [...byModel].map(async ([model, indexes]) => {
        let bundle: ModelBundle;
        try {
          bundle = await this.liveBundle(model, stage);
        } catch (err) {
          for (const i of indexes) results[i] = asError(err);
          return;
        }
        const rows: Float32Array[] = [];
        const rowOf: number[] = [];
        for (const i of indexes) {
          try {
            rows.push(bundle.validateFeatures(requests[i].features, requests[i].where));
            rowOf.push(i);
          } catch (err) {
            results[i] = asError(err);
          }
        }
        if (rows.length === 0) return;
        try {
          const answers = await this.models.predict(bundle, rows);
          answers.forEach((answer, k) => {
            const i = rowOf[k];
            const asset = assets[i] as Asset;
            results[i] = {
              ticker: asset.ticker,
              asset,
              strategy: answer.strategy,
              confidence: answer.confidence,
              probabilities: bundle.labels.map((label, c) => ({ label, probability: answer.probabilities[c] })),
              model: bundle.model,
              version: bundle.version,
              stage,
            };
          });
        } catch (err) {
          for (const i of rowOf) results[i] = asError(err);
        }
      }),
    );
    return results;
  }

  /**
   * Registry.resolveTicker for every request against ONE read of the asset
   * directory (a batch of 10,000 rows would otherwise make 10,000 async cache
   * lookups). Invalid and unknown tickers fail per request, as resolveTicker does.
   */
  private async resolveTickers(requests: readonly PredictionRequest[]): Promise<Array<Asset | Error>> {
    const tickers = requests.map((r) => {
      try {
        return parseTicker(r.ticker);
      } catch (err) {
        return asError(err);
      }
    });
    if (tickers.every((t) => t instanceof Error)) return tickers as Error[];
    let directory: AssetDirectory;
    try {
      directory = await this.registry.assetDirectory();
    } catch (err) {
      const error = asError(err);
      return tickers.map((t) => (t instanceof Error ? t : error));
    }
    return tickers.map((ticker) => (ticker instanceof Error ? ticker : directory.byTicker.get(ticker) ?? new UnknownAssetError(ticker)));
  }
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new ModelgraphError('STORAGE_UNAVAILABLE', String(err));
}
