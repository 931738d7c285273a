import type { ModelType } from '../registry/identifiers';
import type { VersionMetadata } from '../registry/versionMetadata';

/** What a `Model` field resolves from: its id and type; everything else is loaded on demand. */
export interface ModelRef {
  id: string;
  type: ModelType;
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
