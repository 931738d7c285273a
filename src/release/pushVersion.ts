import { ConflictError } from '../errors';
import { METADATA_FILE, archiveKey } from '../registry/bucketLayout';
import { validateVersion, type ValidationReport } from '../inference/validateVersion';
import type { Config } from '../config';
import { describeVersion, type VersionFiles } from '../registry/versionDescription';
import { publishVersion, readUploadedMetadata, uploadVersion, type PublishOptions } from '../registry/versionPublisher';
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
  const { described, validation } = await checkVersion(deps, req, 'any');
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

/**
 * A push through the API (`modelgraph push`): the same checks as pushVersion,
 * then the folder is uploaded write-once as an unfinished upload
 * (uploadVersion: the artifacts and a metadata.json without checksums). The
 * version exists once the API's registerVersion has registered it, computing
 * the checksums and recording the authenticated principal as its publisher.
 * Uploading the same folder again after a failed registration is accepted.
 */
export async function uploadForRegistration(
  deps: { store: ObjectStore; config: Pick<Config, 'ORT_INTRA_OP_THREADS' | 'ORT_GRAPH_OPTIMIZATION'> },
  req: Omit<PushRequest, 'by' | 'description'> & { description: Record<string, unknown> },
  opts: PublishOptions = {},
): Promise<{ validation: ValidationReport }> {
  const { validation } = await checkVersion(deps, req, 'registered');
  await uploadVersion(deps.store, req.model, req.version, req.files, opts);
  return { validation };
}

/**
 * Describes and validates a folder, refusing first (before spending a session
 * on validation) a version that exists: `any` metadata.json, or only a
 * `registered` one (an unfinished upload may be uploaded again).
 */
async function checkVersion(
  deps: { store: ObjectStore; config: Pick<Config, 'ORT_INTRA_OP_THREADS' | 'ORT_GRAPH_OPTIMIZATION'> },
  req: Pick<PushRequest, 'model' | 'version' | 'files' | 'description'>,
  exists: 'any' | 'registered',
) {
  const described = describeVersion(req.model, req.version, req.files, req.description);
  if (exists === 'registered') await readUploadedMetadata(deps.store, req.model, req.version);
  else if (await deps.store.head(archiveKey(req.model, req.version, METADATA_FILE))) {
    throw new ConflictError(
      `${req.model} already has a version ${req.version}; versions are immutable — choose a new version name`,
      {
        model: req.model,
        version: req.version,
      },
    );
  }
  const validation = await validateVersion(req.model, described, req.files, sessionSettings(deps.config));
  return { described, validation };
}
