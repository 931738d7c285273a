/**
 * What went wrong with an operation, in the console's terms: the API's
 * `extensions.code` (CONFLICT, POLICY_VIOLATION, FORBIDDEN, …), its message,
 * and for POLICY_VIOLATION the broken rules (`extensions.violations`).
 */
import { CombinedGraphQLErrors, ServerError } from '@apollo/client';

export interface Violation {
  rule: string;
  required: string;
  actual: string;
}

export interface ActionFailure {
  code: string;
  message: string;
  violations: Violation[];
  rule?: string;
}

function isViolation(v: unknown): v is Violation {
  return typeof v === 'object' && v !== null && typeof (v as Violation).rule === 'string';
}

export function describeFailure(error: unknown): ActionFailure {
  if (CombinedGraphQLErrors.is(error)) {
    const first = error.errors[0];
    const ext = (first?.extensions ?? {}) as Record<string, unknown>;
    const violations = Array.isArray(ext.violations) ? ext.violations.filter(isViolation) : [];
    return {
      code: typeof ext.code === 'string' ? ext.code : 'ERROR',
      message: first?.message ?? error.message,
      violations,
      rule: typeof ext.rule === 'string' ? ext.rule : undefined,
    };
  }
  if (ServerError.is(error)) {
    return { code: `HTTP_${error.statusCode}`, message: error.message, violations: [] };
  }
  if (error instanceof StateMoved) return { code: 'CONFLICT', message: error.message, violations: [] };
  return { code: 'NETWORK', message: error instanceof Error ? error.message : String(error), violations: [] };
}

/** Raised by the console itself when a re-read shows the state moved since the confirmation was written. */
export class StateMoved extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StateMoved';
  }
}
