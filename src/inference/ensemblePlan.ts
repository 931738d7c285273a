import { LRUCache } from 'lru-cache';
import { InvalidModelError } from '../errors';
import type { Registry } from '../registry/registry';
import type { VersionMetadata, VotingMethod } from '../registry/versionMetadata';
import { featureValidator, type FeatureValidator } from './features';
import type { ModelBundle } from './modelBundle';

export interface EnsemblePlanMember {
  model: string;
  version: string;
  weight: number;
  metadata: VersionMetadata;
  /** Ensemble feature index of each of the member's inputs; null when the orders are equal. */
  inputs: Int32Array | null;
  /** Ensemble label index of each of the member's labels; null when the orders are equal. */
  labels: Int32Array | null;
}

/** How one ensemble version is served: computed once per `{ensemble}@{version}` (immutable). */
export interface EnsemblePlan {
  voting: VotingMethod;
  /** The ensemble's labels (its first member's order). */
  labels: string[];
  /** The union of the members' feature names: what a request gives. */
  featureNames: string[];
  validate: FeatureValidator;
  members: EnsemblePlanMember[];
  partFor(
    index: number,
    bundle: ModelBundle,
  ): { bundle: ModelBundle; weight: number; inputs: Int32Array | null; labels: Int32Array | null };
}

/**
 * Plans of ensemble versions. An ensemble version pins its members to exact
 * versions (metadata.ensemble), so its plan — the members' metadata, the
 * feature projection and the label mapping — never changes and is cached for good.
 * Registration already refused members whose label sets differ; the plan checks
 * again, so a hand-written ensemble is INVALID_MODEL, never a wrong vote.
 */
export class EnsemblePlans {
  private readonly plans = new LRUCache<string, Promise<EnsemblePlan>>({ max: 1_000 });

  constructor(private readonly registry: Registry) {}

  plan(model: string, metadata: VersionMetadata): Promise<EnsemblePlan> {
    const key = `${model}@${metadata.version}`;
    let plan = this.plans.get(key);
    if (!plan) {
      plan = this.build(model, metadata);
      this.plans.set(key, plan);
      plan.catch(() => this.plans.delete(key));
    }
    return plan;
  }

  private async build(model: string, metadata: VersionMetadata): Promise<EnsemblePlan> {
    const where = `${model}@${metadata.version}`;
    const spec = metadata.ensemble;
    if (!spec)
      throw new InvalidModelError(`${where} is not an ensemble version (its metadata has no "ensemble")`, { model });
    const labels = metadata.strategies ?? [];
    const featureNames = await this.registry.featureNames(model, metadata);
    const featureIndex = new Map(featureNames.map((n, i) => [n, i]));
    const labelIndex = new Map(labels.map((l, i) => [l, i]));
    const members = await Promise.all(
      spec.members.map(async (m): Promise<EnsemblePlanMember> => {
        const meta = await this.registry.versionMetadata(m.model, m.version);
        if (meta.task === 'regression' || meta.ensemble) {
          throw new InvalidModelError(`${where}: member ${m.model}@${m.version} is not a classifier`, { model });
        }
        const own = meta.strategies ?? [];
        const names = await this.registry.featureNames(m.model, meta);
        const inputs = Int32Array.from(names, (n) => featureIndex.get(n) ?? -1);
        if (inputs.includes(-1))
          throw new InvalidModelError(
            `${where}: member ${m.model}@${m.version} reads features the ensemble does not name`,
            { model },
          );
        const mapped = Int32Array.from(own, (l) => labelIndex.get(l) ?? -1);
        if (own.length !== labels.length || mapped.includes(-1)) {
          throw new InvalidModelError(`${where}: member ${m.model}@${m.version} has other labels than the ensemble`, {
            model,
          });
        }
        return {
          model: m.model,
          version: m.version,
          weight: m.weight,
          metadata: meta,
          inputs: isIdentity(inputs, featureNames.length) ? null : inputs,
          labels: isIdentity(mapped, labels.length) ? null : mapped,
        };
      }),
    );
    return {
      voting: spec.voting,
      labels,
      featureNames,
      validate: featureValidator(featureNames),
      members,
      partFor: (index, bundle) => ({
        bundle,
        weight: members[index].weight,
        inputs: members[index].inputs,
        labels: members[index].labels,
      }),
    };
  }
}

function isIdentity(map: Int32Array, length: number): boolean {
  return map.length === length && map.every((v, i) => v === i);
}
