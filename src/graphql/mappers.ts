import { modelTypeOf, type ModelType } from '../registry/identifiers';
import type { Prediction } from '../inference/predictor';
import type { ApprovalDocument } from '../registry/governanceRecords';
import type { VersionMetadata } from '../registry/versionMetadata';

/** What a `Model` field resolves from: its id and type; everything else is loaded on demand. */
export interface ModelRef {
  id: string;
  type: ModelType;
}

/** The `Model` of a parsed model id (ids are parsed before they get here, so the type is known). */
export function modelRef(id: string): ModelRef {
  return { id, type: modelTypeOf(id)! };
}

/** What a `Version` field resolves from: the model id and the version's immutable metadata. */
export interface VersionRef {
  model: string;
  metadata: VersionMetadata;
}

export interface AboutRef {
  version: string;
  bucket: string;
  pointerTtlSeconds: number;
}

/** What an `EnsembleDefinition` resolves from: metadata.json's `ensemble`. */
export type EnsembleDefinitionRef = NonNullable<VersionMetadata['ensemble']>;

/** What an `EnsembleVote` resolves from: a prediction's `ensemble`. */
export type EnsembleVoteRef = NonNullable<Prediction['ensemble']>;

/** What an `Approval` resolves from: the version and its approval document (null: never registered through the API). */
export interface ApprovalRef {
  model: string;
  version: string;
  doc: ApprovalDocument | null;
}

/** What a `Lineage` resolves from: the version's metadata and its approval document. */
export interface LineageRef {
  metadata: VersionMetadata;
  approval: ApprovalDocument | null;
}

/** What a `VersionComparison` resolves from: the model and the two versions' metadata. */
export interface VersionComparisonRef {
  model: string;
  a: VersionMetadata;
  b: VersionMetadata;
}
