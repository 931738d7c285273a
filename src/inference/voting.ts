import type { VotingMethod } from '../registry/versionMetadata';
import { argmax } from './modelBundle';

/** One member's answer for one row, already mapped onto the ensemble's label order. */
export interface MemberAnswer {
  weight: number;
  /** Probabilities in the ensemble's label order. */
  probabilities: ArrayLike<number>;
}

export interface Vote {
  /** Index of the winning label (ensemble label order). */
  best: number;
  /** Per label: the weighted mean probability (soft) or the share of the vote weight (hard). */
  probabilities: Float64Array;
}

/**
 * Combines members' answers for one row.
 *
 * soft: p(label) = Σ w·p_m(label) / Σ w; the most probable label wins.
 * hard: every member votes its own most probable label with its weight;
 *       p(label) = (Σ w of the members voting for it) / Σ w; the label with the
 *       most weight wins. Ties go to the earlier label in the ensemble's order,
 *       in both methods, so the answer never depends on member order.
 */
export function vote(method: VotingMethod, answers: readonly MemberAnswer[], labels: number): Vote {
  const total = answers.reduce((s, a) => s + a.weight, 0);
  const probabilities = new Float64Array(labels);
  for (const a of answers) {
    if (method === 'soft') {
      for (let c = 0; c < labels; c++) probabilities[c] += (a.weight / total) * a.probabilities[c];
    } else {
      probabilities[argmax(a.probabilities, 0, labels)] += a.weight / total;
    }
  }
  return { best: argmax(probabilities, 0, labels), probabilities };
}
