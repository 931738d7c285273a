import type { Config } from '../config';
import { ConflictError, ErrorCode, InvalidModelError, ModelgraphError } from '../errors';
import { validateVersion, type ValidationReport } from '../inference/validateVersion';
import { ENSEMBLE_WEIGHTS_FILE, METADATA_FILE, versionPrefix } from '../registry/bucketLayout';
import { modelTypeOf } from '../registry/identifiers';
import type { Governance } from '../registry/governance';
import type { Registry } from '../registry/registry';
import { describeVersion, type VersionFiles } from '../registry/versionDescription';
import type { VersionMetadata } from '../registry/versionMetadata';
import { readUploadedMetadata, withoutRegistrationFields, writeRegisteredMetadata } from '../registry/versionPublisher';
import type { ObjectStore } from '../storage/objectStore';
import { registerUploadedEnsemble } from './registerEnsemble';
import { sessionSettings } from './sessionSettings';

export interface RegisterVersionRequest {
  /** A parsed model id. */
  model: string;
  /** A parsed version name. */
  version: string;
  /**
   * Fields for metadata.json (e.g. `strategies`, `accuracy`); they take
   * precedence over a metadata.json the uploading tool left in the folder.
   */
  description?: Record<string, unknown>;
  by?: string;
}

export interface RegisterVersionResult {
  metadata: VersionMetadata;
  validation: ValidationReport;
}

/**
 * (For an ensemble id, the folder holds ensemble_weights.json and
 * voting_strategy.json instead: see registerUploadedEnsemble.)
 *
 * Makes a version of files another tool uploaded to `{model}/archive/{version}/`
 * (model.onnx[.gz|.br], feature_names.json, optional labels.json and a
 * metadata.json without checksums): computes every artifact's sha256 and size
 * from the stored bytes, validates the model like a push, and writes
 * metadata.json conditionally — If-Match the ETag of the metadata.json it read,
 * or If-None-Match: * when there was none — so registration happens once.
 */
export async function registerVersion(
  deps: {
    store: ObjectStore;
    registry: Registry;
    config: Pick<Config, 'ORT_INTRA_OP_THREADS' | 'ORT_GRAPH_OPTIMIZATION'>;
  },
  req: RegisterVersionRequest,
): Promise<RegisterVersionResult> {
  const { store } = deps;
  const { model, version } = req;
  if (modelTypeOf(model) === 'ENSEMBLE') {
    // An ensemble folder holds weights and a voting strategy, not a model: its members are what is checked.
    const metadata = await registerUploadedEnsemble(deps.registry, req);
    const weights = metadata.artifacts[ENSEMBLE_WEIGHTS_FILE];
    return {
      metadata,
      validation: {
        modelFile: ENSEMBLE_WEIGHTS_FILE,
        modelBytes: weights.size,
        features: metadata.features ?? 0,
        labels: metadata.strategies?.length ?? 0,
        labelsCheckedAgainst: 'ensemble-members',
      },
    };
  }
  const prefix = versionPrefix(model, version);
  const keys = await store.listKeys(prefix);
  if (keys.length === 0) {
    throw new ModelgraphError(
      ErrorCode.VERSION_NOT_FOUND,
      `Nothing is uploaded under ${prefix}: upload the version's files there first (or push the folder)`,
      {
        model,
        version,
      },
    );
  }

  const metadataKey = `${prefix}${METADATA_FILE}`;
  const uploadedMetadata = await readUploadedMetadata(store, model, version);
  const uploaded = uploadedMetadata.fields;

  const files: VersionFiles = {};
  const etags: Record<string, string> = {};
  for (const key of keys) {
    if (key === metadataKey) continue;
    const name = key.slice(prefix.length);
    if (name.includes('/'))
      throw new InvalidModelError(`${model}@${version}: unexpected nested object ${key}; a version folder is flat`, {
        model,
        version,
      });
    const got = await store.get(key);
    files[name] = got.body;
    etags[name] = got.etag;
  }

  // Publisher and registration fields come from the API, never from the uploaded files or the caller.
  const described = describeVersion(model, version, files, {
    ...withoutRegistrationFields(uploaded),
    ...withoutRegistrationFields(req.description ?? {}),
  });
  const validation = await validateVersion(model, described, files, sessionSettings(deps.config));

  // The files are not immutable until metadata.json names their checksums:
  // refuse if one was replaced while we validated it.
  for (const [name, etag] of Object.entries(etags)) {
    const now = await store.head(`${prefix}${name}`);
    if (now?.etag !== etag)
      throw new ConflictError(`${prefix}${name} changed while it was being registered; nothing was registered`, {
        model,
        version,
      });
  }
  const metadata: VersionMetadata = {
    ...described.metadata,
    registered_at: new Date().toISOString(),
    ...(req.by ? { registered_by: req.by } : {}),
  };
  await writeRegisteredMetadata(store, model, version, metadata, uploadedMetadata);
  return { metadata, validation };
}

/**
 * registerVersion as the API does it: the version becomes visible with its
 * approval document (PENDING), whose publisher is the authenticated principal
 * `by` — four eyes compares against it, never against a name in the uploaded
 * files. A version whose metadata.json is complete but has no approval
 * document (uploaded by a tool, or a registration stopped between the two
 * writes) is adopted: only the approval document is written.
 */
export async function registerThroughApi(
  deps: Parameters<typeof registerVersion>[0] & { governance: Governance },
  req: RegisterVersionRequest & { by: string },
): Promise<VersionMetadata> {
  let metadata: VersionMetadata;
  try {
    metadata = (await registerVersion(deps, req)).metadata;
  } catch (err) {
    if (!(err instanceof ConflictError) || (await deps.governance.approval(req.model, req.version))) throw err;
    metadata = await deps.registry.versionMetadata(req.model, req.version).catch(() => {
      throw err;
    });
  }
  await deps.governance.register(req.model, req.version, req.by);
  return metadata;
}
