import { BadUserInputError } from '../errors';

/** Longest reason or note a record keeps. */
export const MAX_REASON = 500;

/**
 * A reason (promote, rollback, traffic, alias, policy) or note (approve,
 * reject) as a record keeps it: at most MAX_REASON characters, no control
 * characters other than newline and tab. Null stays null.
 */
export function parseReason(reason: string | null | undefined, argument = 'reason'): string | null {
  if (reason == null) return null;
  if (reason.length > MAX_REASON || /[\u0000-\u0008\u000b-\u001f\u007f]/.test(reason)) {
    throw new BadUserInputError(`${argument} must be at most ${MAX_REASON} printable characters`, { argument });
  }
  return reason;
}

/** An expected generation as a client sends it: a non-negative integer, or absent. */
export function parseGeneration(generation: number | null | undefined): number | null {
  if (generation == null) return null;
  if (!Number.isInteger(generation) || generation < 0) {
    throw new BadUserInputError('expectedGeneration must be a non-negative integer', {
      argument: 'expectedGeneration',
    });
  }
  return generation;
}
