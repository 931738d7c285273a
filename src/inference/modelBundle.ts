import type * as Ort from 'onnxruntime-node';
import { InvalidModelError } from '../errors';
import { FEATURE_NAMES_FILE, archiveKey } from '../registry/bucketLayout';
import {
  FeatureNamesSchema,
  modelArtifactName,
  outputColumns,
  parseJsonDocument,
  taskOf,
  type ModelTask,
  type VersionMetadata,
} from '../registry/versionMetadata';
import { decompressModel, type ArtifactSource } from './artifactSource';
import { featureValidator, type FeatureValidator } from './features';
import { tracePhase } from './loadTrace';
import { onnxRuntime } from './onnxRuntime';

export interface SessionSettings {
  intraOpNumThreads: number;
  graphOptimizationLevel: 'disabled' | 'basic' | 'extended' | 'all';
}

/** One row's answer: the class probabilities in label order and the winning label. */
export interface RowPrediction {
  strategy: string;
  confidence: number;
  probabilities: Float32Array;
}

/**
 * Everything needed to answer for one immutable `{model}@{version}`: the ONNX
 * session, its feature names (input column order), its output columns (a
 * classifier's labels in probability column order, or a regressor's targets)
 * and the metadata. All of it comes from one version folder, so a bundle can
 * never mix two versions.
 */
export class ModelBundle {
  readonly key: string;
  readonly validateFeatures: FeatureValidator;
  readonly task: ModelTask;
  /** The output tensor `run` answers: `probabilities` (classifier) or the regressor's output. */
  readonly outputName: string;
  runs = 0;
  private inFlight = 0;
  private releaseWhenIdle = false;
  private released = false;

  constructor(
    readonly model: string,
    readonly version: string,
    readonly metadata: VersionMetadata,
    readonly featureNames: readonly string[],
    /** Output columns: the labels of a classifier (probability columns) or the targets of a regressor. */
    readonly labels: readonly string[],
    private readonly session: Ort.InferenceSession,
    private readonly ort: typeof Ort,
    /** Bytes of the (uncompressed) model; the cache bound counts these. */
    readonly sizeBytes: number,
  ) {
    this.key = `${model}@${version}`;
    this.task = taskOf(metadata);
    this.outputName = this.task === 'REGRESSION' ? regressorOutput(session) : 'probabilities';
    this.validateFeatures = featureValidator(featureNames);
  }

  /** Runs all rows in ONE session.run call. */
  async predict(rows: readonly Float32Array[]): Promise<RowPrediction[]> {
    const width = this.featureNames.length;
    const input = new Float32Array(rows.length * width);
    rows.forEach((row, i) => input.set(row, i * width));
    const probs = await this.run(input, rows.length);
    const classes = this.labels.length;
    return rows.map((_, i) => {
      const p = probs.slice(i * classes, (i + 1) * classes);
      const best = argmax(p, 0, classes);
      return { strategy: this.labels[best], confidence: p[best], probabilities: p };
    });
  }

  /**
   * One session.run over `n` rows already laid out in feature-name order
   * (row-major, n × featureNames.length). Answers the output, n × labels: a
   * classifier's probabilities or a regressor's values.
   */
  async run(input: Float32Array, n: number): Promise<Float32Array> {
    if (this.released) throw new Error(`session of ${this.key} was released`);
    const width = this.featureNames.length;
    this.inFlight++;
    try {
      this.runs++;
      const runStart = performance.now();
      const out = await this.session.run({
        [this.session.inputNames[0]]: new this.ort.Tensor('float32', input, [n, width]),
      });
      tracePhase('run', this.key, runStart);
      return out[this.outputName].data as Float32Array;
    } finally {
      this.inFlight--;
      if (this.releaseWhenIdle && this.inFlight === 0) void this.release();
    }
  }

  /** Called when the cache evicts this bundle: in-flight runs finish first. */
  retire(): void {
    if (this.inFlight === 0) void this.release();
    else this.releaseWhenIdle = true;
  }

  get isReleased(): boolean {
    return this.released;
  }

  private async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    await this.session.release().catch(() => undefined);
  }
}

export interface LoadedArtifacts {
  modelFile: string;
  modelBytes: Buffer;
  featureNames: string[];
}

export { modelArtifactName };

/** Fetches and verifies a version's artifacts from the immutable archive folder. */
export async function fetchVersionArtifacts(
  source: ArtifactSource,
  model: string,
  version: string,
  metadata: VersionMetadata,
): Promise<LoadedArtifacts> {
  // Start importing onnxruntime now so it overlaps the download (the session needs it next).
  void onnxRuntime().catch(() => undefined);
  const modelFile = modelArtifactName(metadata);
  const namesArtifact = metadata.artifacts[FEATURE_NAMES_FILE];
  if (!namesArtifact)
    throw new InvalidModelError(`metadata of ${model}@${version} lists no feature_names.json artifact`);
  const [modelBytesRaw, namesBytes] = await Promise.all([
    source.fetch({ key: archiveKey(model, version, modelFile), ...metadata.artifacts[modelFile] }),
    source.fetch({ key: archiveKey(model, version, FEATURE_NAMES_FILE), ...namesArtifact }),
  ]);
  const featureNames = parseJsonDocument(
    FeatureNamesSchema,
    namesBytes,
    archiveKey(model, version, FEATURE_NAMES_FILE),
  );
  let modelBytes: Buffer;
  const decompressStart = performance.now();
  try {
    modelBytes = await decompressModel(modelFile, modelBytesRaw);
    if (modelBytes !== modelBytesRaw) tracePhase('decompress', `${model}@${version}`, decompressStart);
  } catch (err) {
    throw new InvalidModelError(`${modelFile} of ${model}@${version} does not decompress`, {}, { cause: err });
  }
  return { modelFile, modelBytes, featureNames };
}

/**
 * Creates the onnxruntime session and proves the model answers the way we read
 * it: one float input of the feature names' width, a tensor `probabilities`
 * output with one column per label (a ZipMap output is refused: onnxruntime-node
 * cannot return non-tensor outputs), and a `label` output that agrees with it.
 */
export async function createModelBundle(
  model: string,
  version: string,
  metadata: VersionMetadata,
  artifacts: LoadedArtifacts,
  settings: SessionSettings,
): Promise<ModelBundle> {
  const importStart = performance.now();
  const ort = await onnxRuntime();
  const where = `${model}@${version}`;
  tracePhase('ort-import', where, importStart);
  let session: Ort.InferenceSession;
  const sessionStart = performance.now();
  try {
    session = await ort.InferenceSession.create(artifacts.modelBytes, {
      intraOpNumThreads: settings.intraOpNumThreads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: settings.graphOptimizationLevel,
    });
  } catch (err) {
    throw new InvalidModelError(`${where}: onnxruntime cannot load the model (${firstLine(err)})`, {}, { cause: err });
  }
  tracePhase('session-create', where, sessionStart);
  const columns = outputColumns(metadata);
  try {
    const probeStart = performance.now();
    if (taskOf(metadata) === 'REGRESSION') {
      await probeRegressor(session, ort, where, artifacts.featureNames, columns);
    } else {
      verifySession(session, ort, where, artifacts.featureNames, columns);
      await probe(session, ort, where, artifacts.featureNames.length, columns);
    }
    tracePhase('probe', where, probeStart);
  } catch (err) {
    await session.release().catch(() => undefined);
    throw err;
  }
  return new ModelBundle(
    model,
    version,
    metadata,
    artifacts.featureNames,
    columns,
    session,
    ort,
    artifacts.modelBytes.byteLength,
  );
}

/** A regressor's output: `variable` (as skl2onnx names it), else its only output. */
function regressorOutput(session: Ort.InferenceSession): string {
  return session.outputNames.includes('variable') ? 'variable' : session.outputNames[0];
}

/**
 * A regressor takes one float input as wide as its feature names and answers
 * one float32 [N, targets] tensor (`variable`, or its only output).
 */
async function probeRegressor(
  session: Ort.InferenceSession,
  ort: typeof Ort,
  where: string,
  featureNames: readonly string[],
  targets: readonly string[],
): Promise<void> {
  if (session.inputNames.length !== 1)
    throw new InvalidModelError(
      `${where}: expected one input (the feature matrix), found ${session.inputNames.length}`,
    );
  if (!session.outputNames.includes('variable') && session.outputNames.length !== 1) {
    throw new InvalidModelError(
      `${where}: a regressor answers one output tensor ("variable"); found ${session.outputNames.join(', ')}`,
    );
  }
  if (new Set(targets).size !== targets.length)
    throw new InvalidModelError(`${where}: metadata targets are not distinct`);
  const width = featureNames.length;
  let out: Ort.InferenceSession.OnnxValueMapType;
  try {
    out = await session.run({
      [session.inputNames[0]]: new ort.Tensor('float32', new Float32Array(width), [1, width]),
    });
  } catch (err) {
    throw new InvalidModelError(
      `${where}: the model does not run on ${width} float features (${firstLine(err)})`,
      {},
      { cause: err },
    );
  }
  const value = out[regressorOutput(session)] as Ort.Tensor;
  const columns = value.dims.length === 2 ? value.dims[1] : value.dims.length === 1 ? 1 : -1;
  if (value.type !== 'float32' || columns !== targets.length) {
    throw new InvalidModelError(
      `${where}: the regressor answers ${value.type}[${value.dims.join(', ')}], expected float32[N, ${targets.length}] (one column per name in metadata.targets)`,
    );
  }
}

function verifySession(
  session: Ort.InferenceSession,
  _ort: typeof Ort,
  where: string,
  featureNames: readonly string[],
  labels: readonly string[],
): void {
  if (session.inputNames.length !== 1) {
    throw new InvalidModelError(
      `${where}: expected one input (the feature matrix), found ${session.inputNames.length}`,
    );
  }
  if (!session.outputNames.includes('probabilities')) {
    throw new InvalidModelError(
      `${where}: the model has no "probabilities" output (outputs: ${session.outputNames.join(', ')})`,
    );
  }
  const meta = (session as unknown as { outputMetadata?: ReadonlyArray<{ name: string; isTensor: boolean }> })
    .outputMetadata;
  const nonTensor = meta?.filter((m) => !m.isTensor).map((m) => m.name) ?? [];
  if (nonTensor.length) {
    throw new InvalidModelError(
      `${where}: outputs ${nonTensor.join(', ')} are not tensors (a ZipMap node?). Export the classifier without ZipMap (skl2onnx/onnxmltools option zipmap=False)`,
    );
  }
  const input = (
    session as unknown as {
      inputMetadata?: ReadonlyArray<{ isTensor: boolean; shape?: ReadonlyArray<number | string> }>;
    }
  ).inputMetadata?.[0];
  const width = input?.shape?.[1];
  if (typeof width === 'number' && width !== featureNames.length) {
    throw new InvalidModelError(
      `${where}: the model takes ${width} features but feature_names.json names ${featureNames.length}`,
    );
  }
  if (new Set(labels).size !== labels.length)
    throw new InvalidModelError(`${where}: metadata strategies are not distinct`);
}

async function probe(
  session: Ort.InferenceSession,
  ort: typeof Ort,
  where: string,
  width: number,
  labels: readonly string[],
): Promise<void> {
  let out: Ort.InferenceSession.OnnxValueMapType;
  try {
    out = await session.run({
      [session.inputNames[0]]: new ort.Tensor('float32', new Float32Array(width), [1, width]),
    });
  } catch (err) {
    const text = firstLine(err);
    if (/non tensor/i.test(text)) {
      throw new InvalidModelError(
        `${where}: the model outputs a non-tensor (ZipMap); export it with zipmap=False`,
        {},
        { cause: err },
      );
    }
    throw new InvalidModelError(
      `${where}: the model does not run on ${width} float features (${text})`,
      {},
      { cause: err },
    );
  }
  const probs = out.probabilities as Ort.Tensor;
  if (probs.type !== 'float32' || probs.dims.length !== 2 || probs.dims[1] !== labels.length) {
    throw new InvalidModelError(
      `${where}: "probabilities" is ${probs.type}[${probs.dims.join(', ')}], expected float32[N, ${labels.length}] (one column per label in metadata.strategies)`,
    );
  }
  const label = out.label as Ort.Tensor | undefined;
  if (label) {
    const p = probs.data as Float32Array;
    const best = argmax(p, 0, labels.length);
    const raw = label.data[0];
    const named =
      typeof raw === 'string'
        ? raw
        : typeof raw === 'bigint' || typeof raw === 'number'
          ? labels[Number(raw)]
          : undefined;
    if (typeof raw === 'string' && !labels.includes(raw)) {
      throw new InvalidModelError(`${where}: the model's label "${raw}" is not among metadata.strategies`);
    }
    if (named !== undefined && p[best] > p[labels.indexOf(named)] + 1e-6) {
      throw new InvalidModelError(
        `${where}: metadata.strategies are not in the model's class order (label ${named} is not the most probable column)`,
      );
    }
  }
}

/** Index of the largest of `p[from .. from + count)`, relative to `from`. */
export function argmax(p: ArrayLike<number>, from: number, count: number): number {
  let best = 0;
  for (let c = 1; c < count; c++) if (p[from + c] > p[from + best]) best = c;
  return best;
}

function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0].slice(0, 300);
}
