import * as z from 'zod';
import { InvalidModelError } from '../errors';
import { sha256 } from '../storage/checksum';
import { COMPRESSED_MODEL_FILES, FEATURE_NAMES_FILE, LABELS_FILE, METADATA_FILE, MODEL_FILE } from './bucketLayout';
import { ArtifactSchema, FeatureNamesSchema, parseJsonDocument, type VersionMetadata } from './versionMetadata';

/** The files of one version folder, by file name (model.onnx[.gz|.br], feature_names.json, labels.json). */
export type VersionFiles = Record<string, Buffer>;

/** The sha256 and size of every file, by name in name order: metadata.json's `artifacts`. */
export function artifactsOf(files: VersionFiles): VersionMetadata['artifacts'] {
  const artifacts: VersionMetadata['artifacts'] = {};
  for (const name of Object.keys(files).sort())
    artifacts[name] = { sha256: sha256(files[name]), size: files[name].byteLength };
  return artifacts;
}

export const MODEL_FILES: readonly string[] = [MODEL_FILE, ...COMPRESSED_MODEL_FILES];

/** The artifact files a version folder may hold; metadata.json is written from the description. */
export const ARTIFACT_FILES: readonly string[] = [...MODEL_FILES, FEATURE_NAMES_FILE, LABELS_FILE];

const Label = z.string().min(1).max(128);
const Labels = z
  .array(Label)
  .min(2)
  .max(10_000)
  .refine((labels) => new Set(labels).size === labels.length, 'labels must be distinct');

/**
 * What the uploader says about a version (the folder's metadata.json, or the
 * registerVersion arguments). `strategies` (the class labels in the order of the
 * model's probabilities columns) is required unless labels.json gives them.
 * Unknown fields are kept. `version` and `artifacts` may be present but must
 * agree with the version name and the files.
 */
export const VersionDescriptionSchema = z.looseObject({
  version: z.string().optional(),
  created: z.string().max(64).optional(),
  accuracy: z.number().min(0).max(1).optional(),
  training_samples: z.number().int().nonnegative().optional(),
  features: z.number().int().positive().optional(),
  task: z.enum(['classification', 'regression']).optional(),
  strategies: Labels.optional(),
  /** A regressor's output names, in the column order of its output tensor. */
  targets: z
    .array(Label)
    .min(1)
    .max(1_000)
    .refine((t) => new Set(t).size === t.length, 'targets must be distinct')
    .optional(),
  model_type: z.string().max(200).optional(),
  description: z.string().max(10_000).optional(),
  artifacts: z.record(z.string(), ArtifactSchema).optional(),
});
export type VersionDescriptionInput = z.infer<typeof VersionDescriptionSchema>;

/** A version ready to be validated and written: its stored metadata and its parsed inputs. */
export interface DescribedVersion {
  metadata: VersionMetadata;
  modelFile: string;
  featureNames: string[];
}

function fail(where: string, message: string): never {
  throw new InvalidModelError(`${where}: ${message}`);
}

/**
 * Checks the shape of a version folder and computes the metadata.json it gets:
 * exactly one model file (model.onnx, model.onnx.gz or model.onnx.br), a
 * feature_names.json array, labels from metadata `strategies` or labels.json
 * (equal if both are given), the sha256 and size of every file. Says nothing
 * about whether the model runs; see validateVersion (src/inference).
 */
export function describeVersion(
  model: string,
  version: string,
  files: VersionFiles,
  description: unknown,
  now = new Date(),
): DescribedVersion {
  const where = `${model}@${version}`;
  const names = Object.keys(files);
  const unexpected = names.filter((n) => !ARTIFACT_FILES.includes(n));
  if (unexpected.length) {
    fail(
      where,
      `unexpected file${unexpected.length > 1 ? 's' : ''} ${unexpected.join(', ')} (a version holds ${ARTIFACT_FILES.join(', ')} and metadata.json)`,
    );
  }
  const modelFiles = names.filter((n) => MODEL_FILES.includes(n));
  if (modelFiles.length === 0) fail(where, `no model file: add ${MODEL_FILES.join(', or ')}`);
  if (modelFiles.length > 1) fail(where, `several model files (${modelFiles.join(', ')}): keep exactly one`);
  const modelFile = modelFiles[0];
  if (files[modelFile].byteLength === 0) fail(where, `${modelFile} is empty`);
  if (!files[FEATURE_NAMES_FILE])
    fail(where, `${FEATURE_NAMES_FILE} is missing (a JSON array of the input feature names, in column order)`);
  const featureNames = parseJsonDocument(
    FeatureNamesSchema,
    files[FEATURE_NAMES_FILE],
    `${where}: ${FEATURE_NAMES_FILE}`,
  );

  const parsed = VersionDescriptionSchema.safeParse(description ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    fail(
      where,
      `${METADATA_FILE}: ${issue?.path.length ? `${issue.path.join('.')}: ` : ''}${issue?.message ?? 'invalid'}`,
    );
  }
  const desc = parsed.data;
  if (desc.version !== undefined && desc.version !== version) {
    fail(where, `${METADATA_FILE} says version "${desc.version}" but the version being published is "${version}"`);
  }
  if (desc.task === 'regression') {
    if (!desc.targets)
      fail(
        where,
        `a regressor (task "regression") needs "targets" in ${METADATA_FILE}: the names of its outputs, in column order`,
      );
    if (desc.strategies || files[LABELS_FILE])
      fail(where, `a regressor has targets, not labels: remove "strategies" / ${LABELS_FILE}`);
  } else if (desc.targets) {
    fail(where, `"targets" describe a regressor: add "task": "regression" to ${METADATA_FILE}, or remove them`);
  }
  const fileLabels = files[LABELS_FILE]
    ? parseJsonDocument(Labels, files[LABELS_FILE], `${where}: ${LABELS_FILE}`)
    : undefined;
  if (fileLabels && desc.strategies && JSON.stringify(fileLabels) !== JSON.stringify(desc.strategies)) {
    fail(
      where,
      `${LABELS_FILE} and ${METADATA_FILE} "strategies" disagree; give the labels once, in probabilities column order`,
    );
  }
  const strategies = desc.strategies ?? fileLabels;
  if (!strategies && desc.task !== 'regression') {
    fail(
      where,
      `no labels: ${METADATA_FILE} needs "strategies" (the class labels in the order of the model's probabilities columns), or add ${LABELS_FILE}`,
    );
  }
  if (desc.features !== undefined && desc.features !== featureNames.length) {
    fail(
      where,
      `${METADATA_FILE} says ${desc.features} features but ${FEATURE_NAMES_FILE} names ${featureNames.length}`,
    );
  }

  const artifacts = artifactsOf(files);
  if (desc.artifacts) {
    for (const [name, claimed] of Object.entries(desc.artifacts)) {
      const actual = artifacts[name];
      if (!actual) fail(where, `${METADATA_FILE} lists artifact ${name}, which is not in the folder`);
      if (actual.sha256 !== claimed.sha256 || actual.size !== claimed.size) {
        fail(
          where,
          `${name} does not match the sha256/size ${METADATA_FILE} records for it (corrupted or replaced file?)`,
        );
      }
    }
  }

  const { artifacts: _claimed, ...rest } = desc;
  const metadata: VersionMetadata = {
    ...rest,
    version,
    created: desc.created ?? now.toISOString(),
    features: featureNames.length,
    ...(strategies ? { strategies } : {}),
    artifacts,
  };
  return { metadata, modelFile, featureNames };
}
