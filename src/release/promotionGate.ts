import { ForbiddenError, PolicyViolationError } from '../errors';
import type { ShadowTracker } from '../inference/shadowTracker';
import type { DeploymentGate, GateEvidence } from '../registry/deployments';
import type { Governance } from '../registry/governance';
import type { PromotionPolicy } from '../registry/governanceRecords';
import { readPerformanceDocument, versionTotals } from '../registry/performanceTracking';
import {
  checkPolicy,
  diffFeatures,
  featureChangeCount,
  type PolicyViolation,
  type PromotionEvidence,
} from '../registry/promotionPolicy';
import type { Registry } from '../registry/registry';
import type { ObjectStore } from '../storage/objectStore';

/** The rule a refusal of a rejected version names. */
export const REJECTED_VERSION = 'REJECTED_VERSION';

export interface GateDeps {
  store: ObjectStore;
  registry: Registry;
  governance: Governance;
  shadows: ShadowTracker;
}

/**
 * The governance gate of promote and rollback (see Deployments: it runs after
 * the pointer to replace is read, and that pointer is then written with
 * If-Match the read).
 * - A REJECTED version is never promoted to production or rolled back to
 *   (an override lets a promotion through, never a rollback).
 * - A promotion to production must satisfy the model's policy, with evidence
 *   read now from the bucket; `override` (checked by the caller to hold
 *   models:approve) lets it through and the record keeps the broken rules.
 * - The policy never blocks a rollback: rollback is the emergency exit.
 */
export function governanceGate(deps: GateDeps, opts: { override: boolean }): DeploymentGate {
  return async (move) => {
    const approvalDoc = await deps.governance.approval(move.model, move.version);
    const approval = {
      status: approvalDoc?.value.status ?? 'PENDING',
      generation: approvalDoc?.value.generation ?? 0,
    } as const;
    if (move.action === 'ROLLBACK') {
      if (approval.status === 'REJECTED') {
        throw ForbiddenError.byRule(
          REJECTED_VERSION,
          `${move.model}@${move.version} was REJECTED (by ${approvalDoc?.value.by}): a stage is never rolled back to a rejected version; name another with "to"`,
          { model: move.model, version: move.version },
        );
      }
      return { approval };
    }
    if (move.stage !== 'PRODUCTION') return { approval };
    const violations: PolicyViolation[] = [];
    if (approval.status === 'REJECTED') {
      violations.push({ rule: 'notRejected', required: 'not REJECTED', actual: 'REJECTED' });
    }
    const policy = (await deps.governance.policy(move.model))?.value.policy;
    if (policy) violations.push(...checkPolicy(policy, await gatherEvidence(deps, move, approval.status, policy)));
    if (violations.length === 0) return { approval };
    if (!opts.override) throw new PolicyViolationError(move.model, move.version, violations);
    const evidence: GateEvidence = { approval, override: true, violations };
    return evidence;
  };
}

/** Reads only what the policy's rules need. */
async function gatherEvidence(
  deps: GateDeps,
  move: Parameters<DeploymentGate>[0],
  approval: PromotionEvidence['approval'],
  policy: PromotionPolicy,
): Promise<PromotionEvidence> {
  const evidence: PromotionEvidence = {
    approval,
    shadowRows: 0,
    shadowAgreements: 0,
    realizedPredictions: 0,
    realizedCorrect: 0,
    featureChanges: 0,
  };
  const production = move.current?.version ?? null;
  const tasks: Array<Promise<void>> = [];
  if ((policy.minShadowRows !== undefined || policy.minShadowAgreement !== undefined) && production) {
    tasks.push(
      deps.shadows.agreement(move.model).then((pairs) => {
        const pair = pairs.find((p) => p.productionVersion === production && p.stagingVersion === move.version);
        evidence.shadowRows = pair?.rows ?? 0;
        evidence.shadowAgreements = pair?.agreements ?? 0;
      }),
    );
  }
  if (policy.minRealizedPredictions !== undefined || policy.minRealizedAccuracy !== undefined) {
    tasks.push(
      readPerformanceDocument(deps.store).then((doc) => {
        const totals = versionTotals(doc, move.model, move.version);
        evidence.realizedPredictions = totals.predictions;
        evidence.realizedCorrect = totals.correct;
      }),
    );
  }
  if (policy.maxFeatureChanges !== undefined && move.current) {
    const current = move.current;
    tasks.push(
      (async () => {
        const candidate = await deps.registry.versionMetadata(move.model, move.version);
        const [before, after] = await Promise.all([
          deps.registry.featureNames(move.model, current),
          deps.registry.featureNames(move.model, candidate),
        ]);
        evidence.featureChanges = featureChangeCount(diffFeatures(before, after));
      })(),
    );
  }
  const dataset = policy.evaluationDataset;
  if (dataset && (policy.minEvaluationAccuracy !== undefined || policy.maxAccuracyDropVsProduction !== undefined)) {
    tasks.push(
      evaluationEvidence(deps.store, move.model, move.version, production, dataset).then((e) => {
        evidence.evaluation = e;
      }),
    );
  }
  await Promise.all(tasks);
  return evidence;
}

/**
 * Accuracy of the candidate and of production on the dataset's current file,
 * from their write-once evaluation documents: production's from the
 * candidate's document when it was compared with that very version, else from
 * production's own evaluation of the file.
 */
async function evaluationEvidence(
  store: ObjectStore,
  model: string,
  version: string,
  production: string | null,
  dataset: string,
): Promise<NonNullable<PromotionEvidence['evaluation']>> {
  // Imported here, not with the module: evaluation's records and datasets are not on a prediction's path.
  const [{ readEvaluationDocument }, { readDatasetManifest }] = await Promise.all([
    import('../evaluation/chunkScoring'),
    import('../evaluation/datasets'),
  ]);
  const manifest = await readDatasetManifest(store, dataset);
  if (!manifest)
    return {
      dataset,
      datasetExists: false,
      candidateAccuracy: null,
      productionVersion: production,
      productionAccuracy: null,
    };
  const candidate = await readEvaluationDocument(store, model, version, manifest.sha256);
  let productionAccuracy: number | null = null;
  if (production !== null) {
    if (candidate?.comparison?.version === production) productionAccuracy = candidate.metrics.comparisonAccuracy;
    else
      productionAccuracy =
        (await readEvaluationDocument(store, model, production, manifest.sha256))?.metrics.accuracy ?? null;
  }
  return {
    dataset,
    datasetExists: true,
    candidateAccuracy: candidate?.metrics.accuracy ?? null,
    productionVersion: production,
    productionAccuracy,
  };
}
