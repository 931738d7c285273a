import * as z from 'zod';
import { BadUserInputError, InvalidModelError, ModelNotDeployedError } from '../errors';
import { ENSEMBLE_WEIGHTS_FILE, FEATURE_NAMES_FILE, VOTING_STRATEGY_FILE } from '../registry/bucketLayout';
import { modelTypeOf, ModelIdSchema, VersionSchema } from '../registry/identifiers';
import type { Registry } from '../registry/registry';
import { VotingMethodSchema, type EnsembleMember, type VersionMetadata, type VotingMethod } from '../registry/versionMetadata';
import { publishVersion } from '../registry/versionPublisher';

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
  const result = EnsembleRegistrationSchema.safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0];
    const field = issue?.path.join('.') || 'input';
    throw new BadUserInputError(`Invalid ${field}: ${issue?.message ?? 'invalid'}`, { argument: field });
  }
  return result.data;
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
export async function registerEnsemble(registry: Registry, reg: EnsembleRegistration, by?: string): Promise<VersionMetadata> {
  const where = `${reg.model}@${reg.version}`;
  const members: Array<EnsembleMember & { metadata: VersionMetadata; featureNames: string[] }> = [];
  for (const m of reg.members) {
    const type = modelTypeOf(m.model);
    if (type === 'ENSEMBLE' || type === 'EXPERIMENTAL') {
      throw new InvalidModelError(`${where}: member ${m.model} is ${type === 'ENSEMBLE' ? 'an ensemble (ensembles do not nest)' : 'experimental (never served)'}`, {
        member: m.model,
      });
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
      throw new InvalidModelError(`${where}: member ${m.model}@${version} is a regressor; an ensemble votes over classifiers`, { member: m.model });
    }
    members.push({ model: m.model, version, weight: m.weight, metadata, featureNames: await registry.featureNames(m.model, metadata) });
  }

  const labels = members[0].metadata.strategies ?? [];
  const mismatches = members.slice(1).flatMap((m) => {
    const own = m.metadata.strategies ?? [];
    const missing = labels.filter((l) => !own.includes(l));
    const extra = own.filter((l) => !labels.includes(l));
    if (missing.length === 0 && extra.length === 0) return [];
    return [`${m.model}@${m.version}${missing.length ? ` lacks ${missing.slice(0, 5).join(', ')}` : ''}${extra.length ? ` adds ${extra.slice(0, 5).join(', ')}` : ''}`];
  });
  if (mismatches.length) {
    throw new InvalidModelError(
      `${where}: members must share one label set (those of ${members[0].model}@${members[0].version}); ${mismatches.join('; ')}`,
      { mismatches: mismatches.length },
    );
  }

  const featureNames = [...new Set(members.flatMap((m) => m.featureNames))];
  const weights = Object.fromEntries(members.map((m) => [m.model, m.weight]));
  const voting: VotingMethod = reg.voting;
  const files = {
    [ENSEMBLE_WEIGHTS_FILE]: Buffer.from(JSON.stringify(weights, null, 2)),
    [VOTING_STRATEGY_FILE]: Buffer.from(JSON.stringify({ method: voting, tie_break: 'label_order' }, null, 2)),
    [FEATURE_NAMES_FILE]: Buffer.from(JSON.stringify(featureNames, null, 2)),
  };
  return publishVersion(registry.store, reg.model, reg.version, files, {
    created: new Date().toISOString(),
    features: featureNames.length,
    strategies: labels,
    model_type: 'ensemble',
    ...(reg.description ? { description: reg.description } : {}),
    ensemble: { voting, members: members.map(({ model, version, weight }) => ({ model, version, weight })) },
    ...(by ? { registered_by: by } : {}),
  }, { onFailure: 'keep' });
}
