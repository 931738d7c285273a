import * as z from 'zod';
import { ErrorCode, InvalidModelError, ModelgraphError, ModelNotDeployedError } from '../errors';
import {
  ENSEMBLE_WEIGHTS_FILE,
  FEATURE_NAMES_FILE,
  VOTING_STRATEGY_FILE,
  versionPrefix,
} from '../registry/bucketLayout';
import { modelTypeOf, ModelIdSchema, parseArguments, VersionSchema } from '../registry/identifiers';
import type { Registry } from '../registry/registry';
import { artifactsOf } from '../registry/versionDescription';
import {
  FeatureNamesSchema,
  parseJsonDocument,
  VotingMethodSchema,
  type EnsembleMember,
  type VersionMetadata,
} from '../registry/versionMetadata';
import {
  publishVersion,
  putArtifactOnce,
  readUploadedMetadata,
  writeRegisteredMetadata,
} from '../registry/versionPublisher';

export { ENSEMBLE_WEIGHTS_FILE, VOTING_STRATEGY_FILE };
export const MAX_ENSEMBLE_MEMBERS = 16;

const printable = z
  .string()
  .max(2_000)
  .refine((s) => !/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(s), 'control characters are not allowed');

export const EnsembleRegistrationSchema = z.object({
  model: ModelIdSchema.refine((id) => modelTypeOf(id) === 'ENSEMBLE', 'an ensemble id is ensembles/{name}'),
  version: VersionSchema,
  members: z
    .array(
      z.object({
        model: ModelIdSchema,
        version: VersionSchema.nullish(),
        weight: z.number().finite().positive('a weight is a positive number').max(1e6),
      }),
    )
    .min(1, 'an ensemble needs at least one member')
    .max(MAX_ENSEMBLE_MEMBERS, `an ensemble has at most ${MAX_ENSEMBLE_MEMBERS} members`)
    .refine((ms) => new Set(ms.map((m) => m.model)).size === ms.length, 'each member model may appear once'),
  voting: VotingMethodSchema,
  description: printable.nullish(),
});
export type EnsembleRegistration = z.infer<typeof EnsembleRegistrationSchema>;

export function parseEnsembleRegistration(raw: unknown): EnsembleRegistration {
  return parseArguments(EnsembleRegistrationSchema, raw);
}

/**
 * Publishes a version of an ensemble into `ensembles/{name}/archive/{version}/`:
 * `ensemble_weights.json` (member model id → weight, the original layout's
 * shape), `voting_strategy.json`, `feature_names.json` (the union of the
 * members' feature names, in member order) and, last, metadata.json with the
 * members pinned to exact versions. Every member must be a classifier with the
 * same label set as the others (INVALID_MODEL naming the differences otherwise);
 * the ensemble's labels are its first member's, in that order. Written once
 * (If-None-Match), like every version.
 */
export async function registerEnsemble(
  registry: Registry,
  reg: EnsembleRegistration,
  by?: string,
): Promise<VersionMetadata> {
  const plan = await planEnsemble(registry, reg);
  const weights = Object.fromEntries(plan.members.map((m) => [m.model, m.weight]));
  const files = {
    [ENSEMBLE_WEIGHTS_FILE]: Buffer.from(JSON.stringify(weights, null, 2)),
    [VOTING_STRATEGY_FILE]: Buffer.from(JSON.stringify({ method: reg.voting, tie_break: 'label_order' }, null, 2)),
    [FEATURE_NAMES_FILE]: Buffer.from(JSON.stringify(plan.featureNames, null, 2)),
  };
  return publishVersion(registry.store, reg.model, reg.version, files, ensembleDescription(plan, reg, by), {
    onFailure: 'keep',
  });
}

interface EnsemblePlan {
  members: Array<EnsembleMember & { metadata: VersionMetadata; featureNames: string[] }>;
  labels: string[];
  /** The union of the members' feature names, in member order. */
  featureNames: string[];
}

/**
 * Resolves and checks the members of an ensemble registration: each exists, is
 * a classifier (not an ensemble, regressor or experimental model), is pinned to
 * a version (its production version when none is named), and has the first
 * member's label set.
 */
async function planEnsemble(registry: Registry, reg: EnsembleRegistration): Promise<EnsemblePlan> {
  const where = `${reg.model}@${reg.version}`;
  const members: EnsemblePlan['members'] = [];
  for (const m of reg.members) {
    const type = modelTypeOf(m.model);
    if (type === 'ENSEMBLE' || type === 'EXPERIMENTAL') {
      throw new InvalidModelError(
        `${where}: member ${m.model} is ${type === 'ENSEMBLE' ? 'an ensemble (ensembles do not nest)' : 'experimental (never served)'}`,
        {
          member: m.model,
        },
      );
    }
    await registry.requireModel(m.model);
    let version = m.version ?? null;
    if (!version) {
      const pointer = await registry.stagePointer(m.model, 'PRODUCTION');
      if (!pointer) throw new ModelNotDeployedError(m.model, 'PRODUCTION');
      version = pointer.value.version;
    }
    const metadata = await registry.versionMetadata(m.model, version);
    if (metadata.task === 'regression') {
      throw new InvalidModelError(
        `${where}: member ${m.model}@${version} is a regressor; an ensemble votes over classifiers`,
        { member: m.model },
      );
    }
    members.push({
      model: m.model,
      version,
      weight: m.weight,
      metadata,
      featureNames: await registry.featureNames(m.model, metadata),
    });
  }

  const labels = members[0].metadata.strategies ?? [];
  const mismatches = members.slice(1).flatMap((m) => {
    const own = m.metadata.strategies ?? [];
    const missing = labels.filter((l) => !own.includes(l));
    const extra = own.filter((l) => !labels.includes(l));
    if (missing.length === 0 && extra.length === 0) return [];
    return [
      `${m.model}@${m.version}${missing.length ? ` lacks ${missing.slice(0, 5).join(', ')}` : ''}${extra.length ? ` adds ${extra.slice(0, 5).join(', ')}` : ''}`,
    ];
  });
  if (mismatches.length) {
    throw new InvalidModelError(
      `${where}: members must share one label set (those of ${members[0].model}@${members[0].version}); ${mismatches.join('; ')}`,
      { mismatches: mismatches.length },
    );
  }

  return { members, labels, featureNames: [...new Set(members.flatMap((m) => m.featureNames))] };
}

function ensembleDescription(plan: EnsemblePlan, reg: EnsembleRegistration, by: string | undefined) {
  return {
    created: new Date().toISOString(),
    features: plan.featureNames.length,
    strategies: plan.labels,
    model_type: 'ensemble',
    ...(reg.description ? { description: reg.description } : {}),
    ensemble: {
      voting: reg.voting,
      members: plan.members.map(({ model, version, weight }) => ({ model, version, weight })),
    },
    ...(by ? { registered_by: by } : {}),
  };
}

/** A member reference `{model}` or `{model}@{version}` (as in ensemble_weights.json and `--member`), not yet validated. */
export function splitMemberRef(ref: string): { model: string; version: string | null } {
  const at = ref.indexOf('@');
  return at < 0 ? { model: ref, version: null } : { model: ref.slice(0, at), version: ref.slice(at + 1) };
}

/** `ensemble_weights.json` as other tools write it: member model id (optionally `@version`) → weight. */
const UploadedWeightsSchema = z.record(z.string(), z.number());
/** `voting_strategy.json`: `{ "method": "soft" }` (also `voting`, `strategy`, `voting_method`), or just `"hard"`. */
const UploadedVotingSchema = z.union([
  z.string(),
  z.looseObject({
    method: z.string().optional(),
    voting: z.string().optional(),
    strategy: z.string().optional(),
    voting_method: z.string().optional(),
  }),
]);

/**
 * Registers an ensemble version whose `ensemble_weights.json` and
 * `voting_strategy.json` another tool uploaded to `ensembles/{name}/archive/{version}/`
 * (registerVersion on an ensemble id): the members are checked like
 * registerEnsemble's, `feature_names.json` is added when missing (the union of
 * the members'), and metadata.json is written once — If-Match the uploaded
 * metadata.json (without checksums) or If-None-Match: * — naming the checksums
 * of the stored files, so the uploaded bytes stay exactly as they are.
 */
export async function registerUploadedEnsemble(
  registry: Registry,
  req: { model: string; version: string; description?: Record<string, unknown>; by?: string },
): Promise<VersionMetadata> {
  const { store } = registry;
  const prefix = versionPrefix(req.model, req.version);
  const where = `${req.model}@${req.version}`;
  const read = async (file: string) => store.getIfExists(`${prefix}${file}`);
  const [weightsFile, votingFile, namesFile] = await Promise.all(
    [ENSEMBLE_WEIGHTS_FILE, VOTING_STRATEGY_FILE, FEATURE_NAMES_FILE].map(read),
  );
  if (!weightsFile) {
    const any = await store.hasKeysUnder(prefix);
    if (!any)
      throw new ModelgraphError(
        ErrorCode.VERSION_NOT_FOUND,
        `Nothing is uploaded under ${prefix}: upload ${ENSEMBLE_WEIGHTS_FILE} and ${VOTING_STRATEGY_FILE} there first`,
        { model: req.model, version: req.version },
      );
    throw new InvalidModelError(`${where}: ${ENSEMBLE_WEIGHTS_FILE} is missing (member model id → weight)`, {
      model: req.model,
    });
  }
  const uploadedMetadata = await readUploadedMetadata(store, req.model, req.version);
  const uploaded = uploadedMetadata.fields;
  const weights = parseJsonDocument(UploadedWeightsSchema, weightsFile.body, `${prefix}${ENSEMBLE_WEIGHTS_FILE}`);
  const description = { ...uploaded, ...req.description };
  let voting: unknown = description.voting ?? description.voting_method;
  if (votingFile) {
    const v = parseJsonDocument(UploadedVotingSchema, votingFile.body, `${prefix}${VOTING_STRATEGY_FILE}`);
    voting ??= typeof v === 'string' ? v : (v.method ?? v.voting ?? v.strategy ?? v.voting_method);
  }
  if (typeof voting !== 'string')
    throw new InvalidModelError(`${where}: ${VOTING_STRATEGY_FILE} must name the voting method ("soft" or "hard")`, {
      model: req.model,
    });
  const reg = parseEnsembleRegistration({
    model: req.model,
    version: req.version,
    members: Object.entries(weights).map(([ref, weight]) => ({ ...splitMemberRef(ref), weight })),
    voting: voting.toLowerCase(),
    description: typeof description.description === 'string' ? description.description : undefined,
  });
  const plan = await planEnsemble(registry, reg);

  const files: Record<string, Buffer> = { [ENSEMBLE_WEIGHTS_FILE]: weightsFile.body };
  if (votingFile) files[VOTING_STRATEGY_FILE] = votingFile.body;
  if (namesFile) {
    const names = parseJsonDocument(FeatureNamesSchema, namesFile.body, `${prefix}${FEATURE_NAMES_FILE}`);
    const missing = plan.featureNames.filter((n) => !names.includes(n));
    if (missing.length)
      throw new InvalidModelError(
        `${where}: ${FEATURE_NAMES_FILE} lacks features its members read: ${missing.slice(0, 10).join(', ')}`,
        { model: req.model },
      );
    plan.featureNames = names;
    files[FEATURE_NAMES_FILE] = namesFile.body;
  } else {
    files[FEATURE_NAMES_FILE] = Buffer.from(JSON.stringify(plan.featureNames, null, 2));
    await putArtifactOnce(store, `${prefix}${FEATURE_NAMES_FILE}`, files[FEATURE_NAMES_FILE]);
  }
  const { description: _d, voting: _v, voting_method: _vm, ...extra } = description;
  const metadata: VersionMetadata = {
    ...extra,
    ...ensembleDescription(plan, reg, req.by),
    version: req.version,
    artifacts: artifactsOf(files),
    registered_at: new Date().toISOString(),
  };
  await writeRegisteredMetadata(store, req.model, req.version, metadata, uploadedMetadata);
  return metadata;
}
