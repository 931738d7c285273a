import { BadUserInputError, ModelgraphError, ModelNotDeployedError, UnknownAssetError } from '../errors';
import type { Asset } from '../registry/assetRegistry';
import { modelTypeOf, parseModelId, parseTicker, type ModelType, type Stage } from '../registry/identifiers';
import type { AssetDirectory, Registry } from '../registry/registry';
import type { ModelTask, StagePointer, VersionMetadata, VotingMethod } from '../registry/versionMetadata';
import { argmax, type ModelBundle } from './modelBundle';
import { decodeFeatureMatrixF32, parseFeatureMatrix } from './featureMatrix';
import type { ModelCache } from './modelCache';
import { EnsemblePlans } from './ensemblePlan';
import type { ShadowTracker } from './shadowTracker';
import { routeRows, shadowsStaging, type RowGroup, type StageTraffic } from './batchRouting';
import { vote } from './voting';
import type { FeatureValidator } from './features';

export interface PredictionRequest {
  ticker: string;
  features: unknown;
  /** Ask this model instead of the ticker's own (universal/… or ensembles/…). */
  model?: string | null;
  /** Shown in error messages, e.g. "requests[3]". */
  where?: string;
}

/** Many rows of one ticker's model, answered column-wise. */
export interface PredictionMatrix {
  asset: Asset;
  model: string;
  version: string;
  stage: Stage;
  task: ModelTask;
  featureNames: readonly string[];
  labels: readonly string[];
  targets: readonly string[];
  /** Rows answered. */
  n: number;
  /**
   * Row-major n × columns: every label's probability in `labels` order
   * (classifiers) or the values in `targets` order (regressors). Float64 when
   * an ensemble voted, else the session's float32 output as it came.
   */
  values: Float32Array | Float64Array;
  /** Per row, the index in `labels` of the most probable label (empty for a regressor). */
  strategyIndexes: Int32Array;
}

/** The rows of a predictMatrix: JSON arrays of numbers, or little-endian float32 bytes (rows × features). */
export type MatrixRows = { json: unknown } | { f32: Uint8Array };

export interface NamedValue {
  name: string;
  value: number;
}

export interface MemberVote {
  model: string;
  version: string;
  weight: number;
  strategy: string;
  confidence: number;
}

export interface ShadowAnswer {
  version: string;
  strategy: string | null;
  confidence: number | null;
  outputs: NamedValue[];
  agrees: boolean;
}

export interface Prediction {
  ticker: string;
  asset: Asset;
  task: ModelTask;
  /** Null for a regressor. */
  strategy: string | null;
  confidence: number | null;
  probabilities: { label: string; probability: number }[];
  outputs: NamedValue[];
  model: string;
  version: string;
  /** The stage that served the answer; null when an alias did. */
  stage: Stage | null;
  /** The alias that served the answer (predict(…, alias:)), else null. */
  alias: string | null;
  canary: boolean;
  ensemble: { voting: VotingMethod; members: MemberVote[] } | null;
  shadow: ShadowAnswer | null;
}

/** Relative difference within which a shadow regressor's value agrees with production's. */
export const SHADOW_REGRESSION_TOLERANCE = 0.05;

/**
 * What serves one model at one stage for one batch: a single bundle, or an
 * ensemble's member bundles with the projections from the ensemble's feature
 * order to each member's and from each member's labels to the ensemble's.
 */
interface ServingUnit {
  model: string;
  version: string;
  stage: Stage;
  task: ModelTask;
  /** Output columns: labels (classifier / ensemble) or targets (regressor). */
  columns: readonly string[];
  /** The feature names a request gives, in the order `validate` lays them out. */
  featureNames: readonly string[];
  validate: FeatureValidator;
  parts: UnitPart[];
  voting?: VotingMethod;
}

interface UnitPart {
  bundle: ModelBundle;
  weight: number;
  /** Unit feature index of each of the bundle's inputs; null when the orders are equal. */
  inputs: Int32Array | null;
  /** Unit label index of each of the bundle's labels; null when the orders are equal. */
  labels: Int32Array | null;
}

/** One row on its way through a unit: the bundles' outputs for it, filled in by the runs. */
interface RowWork {
  unit: ServingUnit;
  outputs: Array<Float32Array | undefined>;
  error?: Error;
}

/** The rows one bundle runs in this batch: one session.run. */
interface Job {
  bundle: ModelBundle;
  rows: Float32Array[];
  /** Row r of the run fills works[r].outputs[parts[r]]. */
  works: RowWork[];
  parts: number[];
}

/**
 * The batch's jobs: every row that needs one `{model}@{version}` — directly,
 * as an ensemble member or as a shadow — goes into that bundle's one job.
 */
class JobLayout {
  private readonly byBundle = new Map<ModelBundle, Job>();

  /** Lays a validated row out for each of the unit's bundles (projected to the bundle's feature order). */
  addRow(unit: ServingUnit, row: Float32Array): RowWork {
    const work: RowWork = { unit, outputs: new Array(unit.parts.length) };
    for (let p = 0; p < unit.parts.length; p++) {
      const part = unit.parts[p];
      let job = this.byBundle.get(part.bundle);
      if (!job) this.byBundle.set(part.bundle, (job = { bundle: part.bundle, rows: [], works: [], parts: [] }));
      job.rows.push(part.inputs ? project(row, part.inputs) : row);
      job.works.push(work);
      job.parts.push(p);
    }
    return work;
  }

  jobs(): Job[] {
    return [...this.byBundle.values()];
  }
}

/** What the route phase found: per request its asset and (if it failed already) its error; the row groups; traffic read. */
interface Batch {
  requests: readonly PredictionRequest[];
  stage: Stage;
  alias: string | null;
  /** Filled in by every phase: an error as soon as a request fails, its answer at the end. */
  results: Array<Prediction | Error>;
  assets: Array<Asset | Error>;
  groups: RowGroup[];
  traffic: ReadonlyMap<string, StageTraffic | Error>;
}

/** A group's requests and their work, in step (shadow work may be missing for a row). */
interface PlannedGroup {
  group: RowGroup;
  indexes: number[];
  works: RowWork[];
  shadows: Array<RowWork | undefined> | undefined;
}

interface BatchPlan {
  jobs: JobLayout;
  planned: PlannedGroup[];
}

/**
 * Tickers → models → one batched session.run per model version. Each ticker is
 * resolved through the asset registry (or the request's `model`), each distinct
 * model through its stage pointer (once per batch); canary routing may send a
 * ticker to staging, shadow mode adds the staging version's answer, an
 * ensemble fans a row out to its member models. Every row that needs one
 * `{model}@{version}` — directly, as an ensemble member or as a shadow — runs
 * in a single onnxruntime call.
 */
export class Predictor {
  private readonly ensembles: EnsemblePlans;

  constructor(
    private readonly registry: Registry,
    private readonly models: ModelCache,
    private readonly shadows?: ShadowTracker,
  ) {
    this.ensembles = new EnsemblePlans(registry);
  }

  /** Batches answered and the time spent in them (ms), for metrics: PredictionLatency is a per-request delta. */
  readonly counters = { batches: 0, batchMs: 0, shadowRows: 0, shadowAgreements: 0, shadowFailures: 0, canaryRows: 0 };

  /** The loaded bundle serving a (non-ensemble) model's stage: pointer → immutable version → cached session. */
  async deployedBundle(model: string, stage: Stage = 'PRODUCTION'): Promise<ModelBundle> {
    const pointer = await this.registry.stagePointer(model, stage);
    if (!pointer) throw new ModelNotDeployedError(model, stage);
    return this.models.get(model, pointer.value.version, pointer.value);
  }

  /** Loads what serves `model` at `stage` — its bundle, or an ensemble's member bundles — and answers the version. */
  async warm(model: string, stage: Stage = 'PRODUCTION'): Promise<string> {
    return (await this.servingUnit(model, stage)).version;
  }

  /**
   * The bundle of `{model}@{version}`, fetched again if the cache evicted (and
   * released) it in the moment between the lookup and our continuation: callers
   * run it right away, and a run in flight keeps a bundle alive.
   */
  private async liveBundle(
    model: string,
    version: string,
    metadata: StagePointer | ModelBundle['metadata'],
  ): Promise<ModelBundle> {
    let bundle = await this.models.get(model, version, metadata);
    for (let retry = 0; bundle.isReleased && retry < 3; retry++)
      bundle = await this.models.get(model, version, metadata);
    return bundle;
  }

  /** What serves `model` through its alias now (the alias document is cached like a stage pointer). */
  private async aliasUnit(model: string, alias: string): Promise<ServingUnit> {
    const doc = await this.registry.aliasDocument(model, alias);
    if (!doc?.value.version) throw new ModelNotDeployedError(model, `alias "${alias}"`);
    return this.servingUnit(model, 'PRODUCTION', await this.registry.versionMetadata(model, doc.value.version));
  }

  /** What serves `model` at `stage` now: its pointer's version, as one bundle or an ensemble of member bundles. */
  private async servingUnit(
    model: string,
    stage: Stage,
    pointer?: StagePointer | VersionMetadata | null,
  ): Promise<ServingUnit> {
    const p = pointer === undefined ? (await this.registry.stagePointer(model, stage))?.value : pointer;
    if (!p) throw new ModelNotDeployedError(model, stage);
    if (modelTypeOf(model) === 'ENSEMBLE' || p.ensemble) {
      const plan = await this.ensembles.plan(model, p);
      const bundles = await Promise.all(plan.members.map((m) => this.liveBundle(m.model, m.version, m.metadata)));
      const parts = bundles.map((bundle, i) => plan.partFor(i, bundle));
      return {
        model,
        version: p.version,
        stage,
        task: 'CLASSIFICATION',
        columns: plan.labels,
        featureNames: plan.featureNames,
        validate: plan.validate,
        parts,
        voting: plan.voting,
      };
    }
    const bundle = await this.liveBundle(model, p.version, p);
    return {
      model,
      version: bundle.version,
      stage,
      task: bundle.task,
      columns: bundle.labels,
      featureNames: bundle.featureNames,
      validate: bundle.validateFeatures,
      parts: [{ bundle, weight: 1, inputs: null, labels: null }],
    };
  }

  /**
   * Bulk scoring: rows of numbers in the model's feature order — JSON arrays or
   * little-endian float32 bytes — answered by one session.run per bundle.
   * `featureNames` must equal the serving version's (see parseFeatureMatrix).
   */
  async predictMatrix(
    ticker: string,
    featureNames: readonly string[],
    rows: MatrixRows,
    stage: Stage,
    maxRows: number,
  ): Promise<PredictionMatrix> {
    const asset = await this.registry.resolveTicker(parseTicker(ticker));
    const unit = await this.servingUnit(asset.modelId, stage);
    const { input, n } =
      'f32' in rows
        ? decodeFeatureMatrixF32(unit.featureNames, featureNames, rows.f32, maxRows)
        : parseFeatureMatrix(unit.featureNames, featureNames, rows.json, maxRows);
    const width = unit.featureNames.length;
    const columns = unit.columns.length;
    // One run per bundle over all n rows (an ensemble: one per member, on its own columns).
    const outs = await Promise.all(
      unit.parts.map(async (part) => {
        let partInput = input;
        if (part.inputs) {
          const w = part.inputs.length;
          partInput = new Float32Array(n * w);
          for (let r = 0; r < n; r++)
            for (let k = 0; k < w; k++) partInput[r * w + k] = input[r * width + part.inputs[k]];
        }
        let bundle = part.bundle;
        if (bundle.isReleased) bundle = await this.liveBundle(bundle.model, bundle.version, bundle.metadata);
        return this.models.run(bundle, partInput, n);
      }),
    );
    const base = {
      asset,
      model: unit.model,
      version: unit.version,
      stage,
      task: unit.task,
      featureNames: unit.featureNames,
      n,
    };
    if (unit.task === 'REGRESSION') {
      return { ...base, labels: [], targets: unit.columns, values: outs[0], strategyIndexes: new Int32Array(0) };
    }
    let values: Float32Array | Float64Array = outs[0];
    if (unit.voting) {
      values = new Float64Array(n * columns);
      for (let r = 0; r < n; r++) {
        const own = unit.parts.map((part, k) =>
          outs[k].subarray(r * part.bundle.labels.length, (r + 1) * part.bundle.labels.length),
        );
        values.set(unitVote(unit, own).probabilities, r * columns);
      }
    }
    const strategyIndexes = new Int32Array(n);
    for (let r = 0; r < n; r++) strategyIndexes[r] = argmax(values, r * columns, columns);
    return { ...base, labels: unit.columns, targets: [], values, strategyIndexes };
  }

  /** One answer (or error) per request, in order. Errors are per request: one bad row does not sink the others. */
  async predictBatch(
    requests: readonly PredictionRequest[],
    stage: Stage = 'PRODUCTION',
    alias: string | null = null,
  ): Promise<Array<Prediction | Error>> {
    const started = performance.now();
    try {
      return await this.answerBatch(requests, stage, alias);
    } finally {
      this.counters.batches++;
      this.counters.batchMs += performance.now() - started;
      this.shadows?.flushIfDue();
    }
  }

  /**
   * A batch in four named phases that pass one value along: route (ticker →
   * model → the stage serving each row), plan (each group's serving unit, its
   * shadow unit, the validated rows laid out as one job per bundle), run (one
   * session.run per bundle) and assemble (answers, shadow agreement, metrics).
   * With `alias`, every row is served by the version the model's alias points
   * to (no shadow, no canary: those belong to production).
   */
  private async answerBatch(
    requests: readonly PredictionRequest[],
    stage: Stage,
    alias: string | null,
  ): Promise<Array<Prediction | Error>> {
    const batch = await this.route(requests, stage, alias);
    const plan = await this.plan(batch);
    await Promise.all(plan.jobs.jobs().map((job) => this.runJob(job)));
    return this.assemble(batch, plan);
  }

  /** Route: resolve tickers and models, read traffic once per model, group the rows by the stage serving them. */
  private async route(requests: readonly PredictionRequest[], stage: Stage, alias: string | null): Promise<Batch> {
    const results: Array<Prediction | Error> = new Array(requests.length);
    const assets = await this.resolveTickers(requests);
    const overrides = new Map<string, { id: string; type: ModelType | undefined } | Error>();
    const targets = assets.map((asset, i) =>
      asset instanceof Error ? asset : this.targetModel(asset, requests[i], overrides),
    );
    const readTraffic = this.trafficReader();
    const traffic = new Map<string, StageTraffic | Error>();
    if (stage === 'PRODUCTION' && !alias) {
      const models = [...new Set(targets.filter((t): t is string => typeof t === 'string'))];
      await Promise.all(models.map(async (m) => traffic.set(m, await readTraffic(m).catch(asError))));
    }
    const { groups, errors } = routeRows({
      targets,
      tickers: assets.map((a) => (a instanceof Error ? undefined : a.ticker)),
      traffic,
      stage,
    });
    for (const [i, err] of errors) results[i] = err;
    return { requests, stage, alias, results, assets, groups, traffic };
  }

  /**
   * Traffic (shadow, canary) of a model's production stage, read once per
   * batch. Shadow and canary never fail production: without a readable
   * staging pointer there is neither.
   */
  private trafficReader(): (model: string) => Promise<StageTraffic> {
    const reads = new Map<string, Promise<StageTraffic>>();
    return (model) => {
      let read = reads.get(model);
      if (!read) {
        read = (async () => {
          const production = (await this.registry.stagePointer(model, 'PRODUCTION'))?.value ?? null;
          const active = production?.traffic && (production.traffic.shadow || production.traffic.canary_percent > 0);
          const staging = active
            ? await this.registry.stagePointer(model, 'STAGING').then(
                (p) => p?.value ?? null,
                () => {
                  this.counters.shadowFailures++;
                  return null;
                },
              )
            : null;
          return { production, staging, traffic: production?.traffic };
        })();
        reads.set(model, read);
      }
      return read;
    };
  }

  /** Plan: each group's unit (and shadow unit), its rows validated and laid out in the jobs. */
  private async plan(batch: Batch): Promise<BatchPlan> {
    const jobs = new JobLayout();
    const planned: PlannedGroup[] = [];
    await Promise.all(
      batch.groups.map(async (group) => {
        const units = await this.groupUnits(batch, group).catch(asError);
        if (units instanceof Error) {
          for (const i of group.indexes) batch.results[i] = units;
          return;
        }
        planned.push(this.layOut(batch, group, units, jobs));
      }),
    );
    return { jobs, planned };
  }

  private async groupUnits(batch: Batch, group: RowGroup): Promise<{ unit: ServingUnit; shadowUnit?: ServingUnit }> {
    if (batch.alias) return { unit: await this.aliasUnit(group.model, batch.alias) };
    const t = group.stage === 'PRODUCTION' ? batch.traffic.get(group.model) : undefined;
    const traffic = t instanceof Error ? undefined : t;
    const unit = await this.servingUnit(group.model, group.stage, traffic ? traffic.production : undefined);
    if (!shadowsStaging(traffic, unit.version)) return { unit };
    const shadowUnit = await this.servingUnit(group.model, 'STAGING', traffic.staging).catch(() => {
      this.counters.shadowFailures++;
      return undefined;
    });
    return { unit, shadowUnit };
  }

  /** A group's rows, validated against its unit and laid out in the jobs (and its shadow unit's, where staging takes the row). */
  private layOut(
    batch: Batch,
    group: RowGroup,
    { unit, shadowUnit }: { unit: ServingUnit; shadowUnit?: ServingUnit },
    jobs: JobLayout,
  ): PlannedGroup {
    const { requests, results } = batch;
    const planned: PlannedGroup = { group, indexes: [], works: [], shadows: shadowUnit ? [] : undefined };
    const sameFeatures = shadowUnit !== undefined && sameNames(unit.featureNames, shadowUnit.featureNames);
    // The group's rows are validated into one matrix, row after row (a failed row's slot is reused):
    // no array per row, and runJob hands the rows of a job that are its consecutive slots to onnxruntime as they are.
    const width = unit.featureNames.length;
    const matrix = new Float32Array(group.indexes.length * width);
    let slot = 0;
    for (const i of group.indexes) {
      let row: Float32Array;
      try {
        row = unit.validate(requests[i].features, requests[i].where, matrix.subarray(slot * width, (slot + 1) * width));
      } catch (err) {
        results[i] = asError(err);
        continue;
      }
      slot++;
      planned.indexes.push(i);
      planned.works.push(jobs.addRow(unit, row));
      if (!shadowUnit) continue;
      let shadowWork: RowWork | undefined;
      try {
        // Staging usually reads the same features in the same order: reuse the validated row.
        shadowWork = jobs.addRow(
          shadowUnit,
          sameFeatures ? row : shadowUnit.validate(requests[i].features, requests[i].where),
        );
      } catch {
        // Staging takes other features than production: no shadow for this row.
        this.counters.shadowFailures++;
      }
      planned.shadows!.push(shadowWork);
    }
    return planned;
  }

  /** Assemble: one answer per planned row, with its shadow answer; shadow agreement and canary counts recorded. */
  private assemble(batch: Batch, plan: BatchPlan): Array<Prediction | Error> {
    const { results, assets, alias } = batch;
    for (const { group, indexes, works, shadows } of plan.planned) {
      let shadowRows = 0;
      let agreements = 0;
      let shadowVersion: string | undefined;
      for (let k = 0; k < indexes.length; k++) {
        const i = indexes[k];
        const work = works[k];
        if (work.error) {
          results[i] = work.error;
          continue;
        }
        const asset = assets[i] as Asset;
        const answer = answerOf(work);
        const shadowWork = shadows?.[k];
        let shadow: ShadowAnswer | null = null;
        if (shadowWork && !shadowWork.error) {
          const s = answerOf(shadowWork, { brief: true });
          const agrees = agree(answer, s);
          shadow = {
            version: shadowWork.unit.version,
            strategy: s.strategy,
            confidence: s.confidence,
            outputs: s.outputs,
            agrees,
          };
          shadowRows++;
          if (agrees) agreements++;
          shadowVersion = shadowWork.unit.version;
        } else if (shadowWork) {
          this.counters.shadowFailures++;
        }
        results[i] = {
          ticker: asset.ticker,
          asset,
          task: answer.task,
          strategy: answer.strategy,
          confidence: answer.confidence,
          probabilities: answer.probabilities,
          outputs: answer.outputs,
          model: work.unit.model,
          version: work.unit.version,
          stage: alias ? null : group.stage,
          alias,
          canary: group.canary,
          ensemble: answer.ensemble,
          shadow,
        };
      }
      if (group.canary) this.counters.canaryRows += indexes.length;
      if (shadowRows > 0 && shadowVersion) {
        this.counters.shadowRows += shadowRows;
        this.counters.shadowAgreements += agreements;
        this.shadows?.record(group.model, works[0].unit.version, shadowVersion, shadowRows, agreements);
      }
    }
    return results;
  }

  /** The model a request asks: its asset's, or an allowed override (universal/… or ensembles/…). */
  private targetModel(
    asset: Asset,
    request: PredictionRequest,
    parsed: Map<string, { id: string; type: ModelType | undefined } | Error>,
  ): string | Error {
    // The asset registry only maps assets to servable models (listAssets refuses experimental ones).
    if (request.model == null) return asset.modelId;
    let override = parsed.get(request.model);
    if (!override) {
      try {
        const id = parseModelId(request.model);
        override = { id, type: modelTypeOf(id) };
      } catch (err) {
        override = asError(err);
      }
      parsed.set(request.model, override);
    }
    if (override instanceof Error) return override;
    const { id: model, type } = override;
    if (type === 'EXPERIMENTAL') {
      return new BadUserInputError(`${model} is an experimental model: it is listed, never served to predictions`, {
        model,
      });
    }
    if (model !== asset.modelId && type !== 'UNIVERSAL' && type !== 'ENSEMBLE') {
      return new BadUserInputError(
        `${request.where ? `${request.where}: ` : ''}${asset.ticker} may be answered by its own model (${asset.modelId}), a universal/… model or an ensembles/… ensemble, not ${model}`,
        { argument: 'model', ticker: asset.ticker },
      );
    }
    return model;
  }

  private async runJob(job: Job): Promise<void> {
    try {
      let bundle = job.bundle;
      // Loaded at the start of the batch; another request's load may have evicted it since.
      if (bundle.isReleased) bundle = await this.liveBundle(bundle.model, bundle.version, bundle.metadata);
      const out = await this.models.run(bundle, jobInput(job.rows, bundle.featureNames.length), job.rows.length);
      const columns = bundle.labels.length;
      for (let r = 0; r < job.works.length; r++)
        job.works[r].outputs[job.parts[r]] = out.subarray(r * columns, (r + 1) * columns);
    } catch (err) {
      for (const work of job.works) work.error ??= asError(err);
    }
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
    return tickers.map((ticker) =>
      ticker instanceof Error ? ticker : (directory.byTicker.get(ticker) ?? new UnknownAssetError(ticker)),
    );
  }
}

type Answer = Pick<Prediction, 'task' | 'strategy' | 'confidence' | 'probabilities' | 'outputs' | 'ensemble'>;

/**
 * A row's answer from its unit's outputs: one bundle's, or the ensemble's vote.
 * `brief` (shadow answers) leaves out what a shadow does not report: the
 * per-label probabilities and the members' own answers.
 */
function answerOf(work: RowWork, opts: { brief?: boolean } = {}): Answer {
  const { unit } = work;
  if (unit.voting) {
    const result = unitVote(unit, work.outputs as Float32Array[]);
    if (opts.brief) {
      return {
        task: 'CLASSIFICATION',
        strategy: unit.columns[result.best],
        confidence: result.probabilities[result.best],
        probabilities: [],
        outputs: [],
        ensemble: null,
      };
    }
    return {
      task: 'CLASSIFICATION',
      strategy: unit.columns[result.best],
      confidence: result.probabilities[result.best],
      probabilities: unit.columns.map((label, c) => ({ label, probability: result.probabilities[c] })),
      outputs: [],
      ensemble: {
        voting: unit.voting,
        members: unit.parts.map((part, p) => {
          const own = work.outputs[p]!;
          const best = argmax(own, 0, part.bundle.labels.length);
          return {
            model: part.bundle.model,
            version: part.bundle.version,
            weight: part.weight,
            strategy: part.bundle.labels[best],
            confidence: own[best],
          };
        }),
      },
    };
  }
  const out = work.outputs[0]!;
  if (unit.task === 'REGRESSION') {
    return {
      task: 'REGRESSION',
      strategy: null,
      confidence: null,
      probabilities: [],
      outputs: unit.columns.map((name, c) => ({ name, value: out[c] })),
      ensemble: null,
    };
  }
  const best = argmax(out, 0, unit.columns.length);
  return {
    task: 'CLASSIFICATION',
    strategy: unit.columns[best],
    confidence: out[best],
    probabilities: opts.brief ? [] : unit.columns.map((label, c) => ({ label, probability: out[c] })),
    outputs: [],
    ensemble: null,
  };
}

/** Whether a shadow answer agrees with production's: the same strategy, or every value within the tolerance. */
function agree(production: Answer, shadow: Answer): boolean {
  if (production.task !== shadow.task) return false;
  if (production.task === 'CLASSIFICATION') return production.strategy === shadow.strategy;
  if (production.outputs.length !== shadow.outputs.length) return false;
  return production.outputs.every((o, k) => {
    const s = shadow.outputs[k];
    return (
      s.name === o.name &&
      Math.abs(s.value - o.value) <= SHADOW_REGRESSION_TOLERANCE * Math.max(Math.abs(o.value), 1e-9)
    );
  });
}

function sameNames(a: readonly string[], b: readonly string[]): boolean {
  return a === b || (a.length === b.length && a.every((n, i) => n === b[i]));
}

/** An ensemble unit's vote over its members' outputs for one row (each in the member's own label order). */
function unitVote(unit: ServingUnit, own: readonly Float32Array[]) {
  const labels = unit.columns.length;
  return vote(
    unit.voting!,
    unit.parts.map((part, k) => ({ weight: part.weight, probabilities: inUnitOrder(own[k], part.labels, labels) })),
    labels,
  );
}

function inUnitOrder(own: Float32Array, labels: Int32Array | null, count: number): ArrayLike<number> {
  if (!labels) return own;
  const mapped = new Float64Array(count);
  labels.forEach((to, from) => (mapped[to] = own[from]));
  return mapped;
}

/**
 * A job's rows as one row-major matrix: when they are consecutive slices of one
 * buffer (the rows of one group, validated in place, see layOut), a view on it;
 * else a copy.
 */
export function jobInput(rows: readonly Float32Array[], width: number): Float32Array {
  const first = rows[0];
  let contiguous = first !== undefined && first.length === width;
  for (let r = 1; contiguous && r < rows.length; r++) {
    const row = rows[r];
    contiguous =
      row.buffer === first.buffer && row.length === width && row.byteOffset === first.byteOffset + r * width * 4;
  }
  if (contiguous) return new Float32Array(first.buffer, first.byteOffset, rows.length * width);
  const input = new Float32Array(rows.length * width);
  rows.forEach((row, i) => input.set(row, i * width));
  return input;
}

function project(row: Float32Array, inputs: Int32Array): Float32Array {
  const out = new Float32Array(inputs.length);
  for (let k = 0; k < inputs.length; k++) out[k] = row[inputs[k]];
  return out;
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new ModelgraphError('STORAGE_UNAVAILABLE', String(err));
}
