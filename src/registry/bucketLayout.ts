import type { Stage } from './identifiers';

/**
 * Key builders for the bucket layout (README, "Bucket layout"). Arguments are already-parsed
 * identifiers (see identifiers.ts); nothing else builds keys.
 */
export const ASSET_REGISTRY_KEY = 'metadata/asset_registry.json';
export const MODEL_REGISTRY_KEY = 'metadata/model_registry.json';
export const PERFORMANCE_TRACKING_KEY = 'metadata/performance_tracking.json';
/** Bucket-wide feed of every promote/rollback, oldest first (written by the model registry feed). */
export const DEPLOYMENT_HISTORY_KEY = 'metadata/deployment_history.json';
/** Events: per document of record, the generation (and ETag) delivered so far (src/events/watermark.ts). */
export const EVENTS_WATERMARK_KEY = 'metadata/events/watermark.json';
/** Files shared by all models (feature definitions, notes): listed, never served. */
export const SHARED_PREFIX = 'shared/';

export const MODEL_FILE = 'model.onnx';
export const COMPRESSED_MODEL_FILES = ['model.onnx.br', 'model.onnx.gz'] as const;
export const FEATURE_NAMES_FILE = 'feature_names.json';
export const METADATA_FILE = 'metadata.json';
export const LABELS_FILE = 'labels.json';
/** An ensemble version's member model id → weight (the original layout's shape). */
export const ENSEMBLE_WEIGHTS_FILE = 'ensemble_weights.json';
/** An ensemble version's voting method. */
export const VOTING_STRATEGY_FILE = 'voting_strategy.json';

export function stageFolder(stage: Stage): string {
  return stage === 'PRODUCTION' ? 'production' : 'staging';
}

/** The stage pointer: `{model}/production/metadata.json`. */
export function stagePointerKey(model: string, stage: Stage): string {
  return `${model}/${stageFolder(stage)}/${METADATA_FILE}`;
}

export function archivePrefix(model: string): string {
  return `${model}/archive/`;
}

export function versionPrefix(model: string, version: string): string {
  return `${model}/archive/${version}/`;
}

export function archiveKey(model: string, version: string, file: string): string {
  return `${versionPrefix(model, version)}${file}`;
}

/**
 * A write-once chunk of a stage's older deployment history, generations
 * `first`..`last`: `{model}/production/history/00000001-00000100.json`.
 */
export function stageHistoryArchiveKey(model: string, stage: Stage, first: number, last: number): string {
  const pad = (n: number) => String(n).padStart(8, '0');
  return `${model}/${stageFolder(stage)}/history/${pad(first)}-${pad(last)}.json`;
}

/**
 * Shadow-mode agreement counts of a model: write-once files, one per instance
 * and flush, `metadata/shadow/{model}/{productionVersion}/{stagingVersion}/{file}`,
 * and per pair of versions a `summary.json` the files are compacted into.
 */
export function shadowStatsPrefix(model: string): string {
  return `metadata/shadow/${model}/`;
}

/** The folder of one pair of versions' counts. */
export function shadowPairPrefix(model: string, productionVersion: string, stagingVersion: string): string {
  return `${shadowStatsPrefix(model)}${productionVersion}/${stagingVersion}/`;
}

export function shadowStatsKey(model: string, productionVersion: string, stagingVersion: string, file: string): string {
  return `${shadowPairPrefix(model, productionVersion, stagingVersion)}${file}`;
}

/** Name of the compacted counts of a pair of versions (count files are named `{time}-{uuid}.json`). */
export const SHADOW_SUMMARY_FILE = 'summary.json';

/**
 * Governance documents: mutable, compare-and-swap, each with its own history,
 * written only by the API (the bucket policy refuses everyone else). Version
 * folders stay write-once; these live beside them.
 */
/** A version's approval (and its publisher, recorded by the API that registered it). */
export function approvalKey(model: string, version: string): string {
  return `${model}/approvals/${version}.json`;
}

export function approvalsPrefix(model: string): string {
  return `${model}/approvals/`;
}

/** A version's tags and description. */
export function versionTagsKey(model: string, version: string): string {
  return `${model}/tags/${version}.json`;
}

/** The folder of a model's aliases (a model id never contains it). */
export const ALIASES_FOLDER = '/aliases/';

/** A named pointer beside production and staging, e.g. `champion`. */
export function aliasKey(model: string, alias: string): string {
  return `${model}${ALIASES_FOLDER}${alias}.json`;
}

export function aliasesPrefix(model: string): string {
  return `${model}${ALIASES_FOLDER}`;
}

/** The model's promotion policy. */
export function promotionPolicyKey(model: string): string {
  return `${model}/policy.json`;
}
