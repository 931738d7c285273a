import { ConflictError } from '../errors';
import { METADATA_FILE, archiveKey } from '../registry/bucketLayout';
import { validateVersion, type ValidationReport } from '../inference/validateVersion';
import type { Config } from '../config';
import { describeVersion, type VersionFiles } from '../registry/versionDescription';
import { publishVersion, type PublishOptions } from '../registry/versionPublisher';
import type { VersionMetadata } from '../registry/versionMetadata';
import type { ObjectStore } from '../storage/objectStore';
import { sessionSettings } from './sessionSettings';

export interface PushRequest {
  /** A parsed model id (parseModelId). */
  model: string;
  /** A parsed version name (parseVersion). */
  version: string;
  /** The artifacts: model.onnx (or .gz / .br), feature_names.json, optional labels.json. */
  files: VersionFiles;
  /** The folder's metadata.json (parsed JSON); see VersionDescriptionSchema. */
  description: unknown;
  /** Recorded as `published_by`. */
  by?: string;
}

export interface PushResult {
  metadata: VersionMetadata;
  validation: ValidationReport;
}

/**
 * Ships a version: checks the folder (describeVersion), proves the model works
 * the way it will be served (validateVersion, a real onnxruntime session), and
 * only then writes `{model}/archive/{version}/` once (publishVersion: artifacts
 * with If-None-Match, metadata last). A folder that fails a check writes nothing.
 */
export async function pushVersion(
  deps: { store: ObjectStore; config: Pick<Config, 'ORT_INTRA_OP_THREADS' | 'ORT_GRAPH_OPTIMIZATION'> },
  req: PushRequest,
  opts: PublishOptions = {},
): Promise<PushResult> {
  const described = describeVersion(req.model, req.version, req.files, req.description);
  // Fail fast on an existing version before spending a session on validation (publishVersion checks again, atomically).
  if (await deps.store.head(archiveKey(req.model, req.version, METADATA_FILE))) {
    throw new ConflictError(
      `${req.model} already has a version ${req.version}; versions are immutable — choose a new version name`,
      {
        model: req.model,
        version: req.version,
      },
    );
  }
  const validation = await validateVersion(req.model, described, req.files, sessionSettings(deps.config));
  const metadata = await publishVersion(
    deps.store,
    req.model,
    req.version,
    req.files,
    { ...described.metadata, ...(req.by ? { published_by: req.by } : {}) },
    opts,
  );
  return { metadata, validation };
}
