import type { ApprovalStatus, PromotionPolicy } from './governanceRecords';

/**
 * The promotion policy's rules as pure functions: the evidence about a
 * candidate goes in, the violated rules come out. The promotion gathers the
 * evidence from the bucket (approval document, shadow counts, realised
 * outcomes, feature names) after reading the pointer it will replace, and
 * writes that pointer with If-Match the ETag it read: the check holds for the
 * state the move replaces.
 */
export type PolicyRule =
  /** Not a policy setting: a REJECTED version never goes to production without an override. */
  | 'notRejected'
  | 'requireApproval'
  | 'minShadowRows'
  | 'minShadowAgreement'
  | 'minRealizedPredictions'
  | 'minRealizedAccuracy'
  | 'maxFeatureChanges'
  | 'minEvaluationAccuracy'
  | 'maxAccuracyDropVsProduction';

/** One violated rule: what the policy requires and what the candidate has (as text, for people and clients alike). */
export interface PolicyViolation {
  rule: PolicyRule;
  required: string;
  actual: string;
}

/** What is known about a candidate when it is to be promoted to production. */
export interface PromotionEvidence {
  approval: ApprovalStatus;
  /** Shadow rows and agreements of the candidate against the version production serves now (0 when none). */
  shadowRows: number;
  shadowAgreements: number;
  /** Realised outcomes recorded for the candidate (recordOutcomes). */
  realizedPredictions: number;
  realizedCorrect: number;
  /** Feature names added, removed or reordered against production (0 when nothing is deployed). */
  featureChanges: number;
  /**
   * The evaluation rules' evidence on the policy's evaluationDataset (its current file): the
   * candidate's and production's accuracy from their evaluation documents (null: not evaluated),
   * and whether production exists at all. Absent when the policy has no evaluation rule.
   */
  evaluation?: {
    dataset: string;
    /** False when the dataset does not exist. */
    datasetExists: boolean;
    candidateAccuracy: number | null;
    productionVersion: string | null;
    productionAccuracy: number | null;
  };
}

const percent = (x: number) => `${(x * 100).toFixed(2)}%`;

export function checkPolicy(policy: PromotionPolicy, e: PromotionEvidence): PolicyViolation[] {
  const violations: PolicyViolation[] = [];
  if (policy.requireApproval && e.approval !== 'APPROVED') {
    violations.push({ rule: 'requireApproval', required: 'APPROVED', actual: e.approval });
  }
  if (policy.minShadowRows !== undefined && e.shadowRows < policy.minShadowRows) {
    violations.push({ rule: 'minShadowRows', required: `>= ${policy.minShadowRows}`, actual: String(e.shadowRows) });
  }
  if (policy.minShadowAgreement !== undefined) {
    const rate = e.shadowRows === 0 ? null : e.shadowAgreements / e.shadowRows;
    if (rate === null || rate < policy.minShadowAgreement) {
      violations.push({
        rule: 'minShadowAgreement',
        required: `>= ${percent(policy.minShadowAgreement)}`,
        actual: rate === null ? 'no shadow rows' : `${percent(rate)} of ${e.shadowRows} rows`,
      });
    }
  }
  if (policy.minRealizedPredictions !== undefined && e.realizedPredictions < policy.minRealizedPredictions) {
    violations.push({
      rule: 'minRealizedPredictions',
      required: `>= ${policy.minRealizedPredictions}`,
      actual: String(e.realizedPredictions),
    });
  }
  if (policy.minRealizedAccuracy !== undefined) {
    const acc = e.realizedPredictions === 0 ? null : e.realizedCorrect / e.realizedPredictions;
    if (acc === null || acc < policy.minRealizedAccuracy) {
      violations.push({
        rule: 'minRealizedAccuracy',
        required: `>= ${percent(policy.minRealizedAccuracy)}`,
        actual: acc === null ? 'no realised outcomes' : `${percent(acc)} of ${e.realizedPredictions} predictions`,
      });
    }
  }
  if (policy.maxFeatureChanges !== undefined && e.featureChanges > policy.maxFeatureChanges) {
    violations.push({
      rule: 'maxFeatureChanges',
      required: `<= ${policy.maxFeatureChanges}`,
      actual: String(e.featureChanges),
    });
  }
  violations.push(...checkEvaluationRules(policy, e));
  return violations;
}

const points = (x: number) => `${(x * 100).toFixed(2)} points`;

/** minEvaluationAccuracy and maxAccuracyDropVsProduction: a missing evaluation breaks the rule (the evidence is missing). */
function checkEvaluationRules(policy: PromotionPolicy, e: PromotionEvidence): PolicyViolation[] {
  const violations: PolicyViolation[] = [];
  const ev = e.evaluation;
  if (!ev) return violations;
  const missing = (version: string) =>
    ev.datasetExists ? `no evaluation of ${version} on ${ev.dataset}` : `no dataset ${ev.dataset}`;
  if (policy.minEvaluationAccuracy !== undefined) {
    if (ev.candidateAccuracy === null || ev.candidateAccuracy < policy.minEvaluationAccuracy) {
      violations.push({
        rule: 'minEvaluationAccuracy',
        required: `>= ${percent(policy.minEvaluationAccuracy)} on ${ev.dataset}`,
        actual: ev.candidateAccuracy === null ? missing('the candidate') : percent(ev.candidateAccuracy),
      });
    }
  }
  // Nothing in production: nothing to drop from.
  if (policy.maxAccuracyDropVsProduction !== undefined && ev.productionVersion !== null) {
    const required = `<= ${points(policy.maxAccuracyDropVsProduction)} below ${ev.productionVersion} on ${ev.dataset}`;
    if (ev.candidateAccuracy === null || ev.productionAccuracy === null) {
      violations.push({
        rule: 'maxAccuracyDropVsProduction',
        required,
        actual: missing(ev.candidateAccuracy === null ? 'the candidate' : ev.productionVersion),
      });
    } else {
      const drop = ev.productionAccuracy - ev.candidateAccuracy;
      // A tolerance for float noise: 0.71 − 0.69 must not exceed 0.02.
      if (drop > policy.maxAccuracyDropVsProduction + 1e-12) {
        violations.push({
          rule: 'maxAccuracyDropVsProduction',
          required,
          actual: `${points(drop)} (${percent(ev.candidateAccuracy)} vs ${percent(ev.productionAccuracy)})`,
        });
      }
    }
  }
  return violations;
}

/** Features added, removed and reordered from `before` to `after` (a reordered feature keeps its name, not its place among the shared ones). */
export interface FeatureDiff {
  added: string[];
  removed: string[];
  reordered: string[];
}

export function diffFeatures(before: readonly string[], after: readonly string[]): FeatureDiff {
  const inBefore = new Set(before);
  const inAfter = new Set(after);
  const sharedBefore = before.filter((f) => inAfter.has(f));
  const sharedAfter = after.filter((f) => inBefore.has(f));
  return {
    added: after.filter((f) => !inBefore.has(f)),
    removed: before.filter((f) => !inAfter.has(f)),
    reordered: sharedAfter.filter((f, i) => sharedBefore[i] !== f),
  };
}

export function featureChangeCount(d: FeatureDiff): number {
  return d.added.length + d.removed.length + d.reordered.length;
}
