import { InvalidModelError } from '../errors';
import type { DescribedVersion, VersionFiles } from '../registry/versionDescription';
import { decompressModel } from './artifactSource';
import { createModelBundle, type SessionSettings } from './modelBundle';
import { readClassifierLabels } from './onnxClassLabels';

/** Rows run through a candidate model besides createModelBundle's own probe. */
const PROBE_ROWS = 8;

export interface ValidationReport {
  modelFile: string;
  /** Uncompressed model bytes. */
  modelBytes: number;
  features: number;
  labels: number;
  /** Where the labels were checked against the model: its classifier node, or only by running it (a regressor has targets, no labels). */
  labelsCheckedAgainst: 'classifier-node' | 'probe' | 'regressor' | 'ensemble-members';
}

/**
 * Proves a version works the way it will be served, before it counts: the model
 * loads in onnxruntime (decompressed if stored .gz/.br), takes one float input as
 * wide as feature_names.json, outputs tensors (no ZipMap) with one probabilities
 * column per label, and its classifier's labels are exactly metadata.strategies
 * in column order. Runs a few rows, then releases the session. Every failure is
 * INVALID_MODEL with a message that says what to fix.
 */
export async function validateVersion(
  model: string,
  described: DescribedVersion,
  files: VersionFiles,
  settings: SessionSettings,
): Promise<ValidationReport> {
  const { metadata, modelFile, featureNames } = described;
  const where = `${model}@${metadata.version}`;
  let modelBytes: Buffer;
  try {
    modelBytes = await decompressModel(modelFile, files[modelFile]);
  } catch (err) {
    throw new InvalidModelError(
      `${where}: ${modelFile} does not decompress (${err instanceof Error ? err.message : err})`,
    );
  }

  // Labels first: a mismatch is then reported with every unknown label, not
  // only the one the session's probe happens to predict.
  const regressor = metadata.task === 'regression';
  const declared = regressor ? undefined : readClassifierLabels(modelBytes);
  if (!regressor) checkLabels(where, declared, metadata.strategies ?? []);
  const bundle = await createModelBundle(
    model,
    metadata.version,
    metadata,
    { modelFile, modelBytes, featureNames },
    settings,
  );
  try {
    const rows = Array.from({ length: PROBE_ROWS }, (_, r) =>
      Float32Array.from(featureNames, (_n, k) => Math.sin((r + 1) * 12.9898 + (k + 1) * 78.233)),
    );
    const input = new Float32Array(rows.length * featureNames.length);
    rows.forEach((row, i) => input.set(row, i * featureNames.length));
    const outputs = await bundle.run(input, rows.length);
    if (!Array.from(outputs).every(Number.isFinite)) {
      throw new InvalidModelError(`${where}: the model answers non-finite ${regressor ? 'values' : 'probabilities'}`);
    }
    return {
      modelFile,
      modelBytes: modelBytes.byteLength,
      features: featureNames.length,
      labels: bundle.labels.length,
      labelsCheckedAgainst: regressor ? 'regressor' : declared ? 'classifier-node' : 'probe',
    };
  } finally {
    bundle.retire();
  }
}

function checkLabels(
  where: string,
  declared: ReturnType<typeof readClassifierLabels>,
  strategies: readonly string[],
): void {
  if (!declared) return; // No classifier node declares labels: createModelBundle's probe checked the column count and `label` output.
  const count = declared.strings?.length ?? declared.ints?.length ?? 0;
  if (count !== strategies.length) {
    throw new InvalidModelError(
      `${where}: the model's ${declared.opType} has ${count} classes but metadata names ${strategies.length} strategies`,
    );
  }
  if (declared.strings) {
    const unknown = declared.strings.filter((l) => !strategies.includes(l));
    if (unknown.length) {
      throw new InvalidModelError(
        `${where}: the model's labels ${unknown.slice(0, 10).join(', ')} are not among metadata.strategies (${strategies.slice(0, 10).join(', ')})`,
      );
    }
    if (declared.strings.some((l, i) => l !== strategies[i])) {
      throw new InvalidModelError(
        `${where}: metadata.strategies must list the labels in the model's class order (${declared.strings.slice(0, 10).join(', ')}${declared.strings.length > 10 ? ', …' : ''})`,
      );
    }
  }
}
