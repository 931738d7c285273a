/**
 * Domain errors. Every error a client can see carries one of these codes; the
 * GraphQL layer copies `code` into `extensions.code` (see src/graphql/errors.ts).
 * Domain code throws these and never imports GraphQL.
 */
export const ErrorCode = {
  UNKNOWN_ASSET: 'UNKNOWN_ASSET',
  MODEL_NOT_FOUND: 'MODEL_NOT_FOUND',
  VERSION_NOT_FOUND: 'VERSION_NOT_FOUND',
  MODEL_NOT_DEPLOYED: 'MODEL_NOT_DEPLOYED',
  BAD_USER_INPUT: 'BAD_USER_INPUT',
  CONFLICT: 'CONFLICT',
  INTEGRITY_ERROR: 'INTEGRITY_ERROR',
  INVALID_MODEL: 'INVALID_MODEL',
  STORAGE_UNAVAILABLE: 'STORAGE_UNAVAILABLE',
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  FORBIDDEN: 'FORBIDDEN',
  POLICY_VIOLATION: 'POLICY_VIOLATION',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Base of every error whose message is meant for the client. */
export class ModelgraphError extends Error {
  readonly code: ErrorCode;
  /** Extra, client-safe fields copied into `extensions` (never secrets or feature values). */
  readonly details: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, details: Record<string, unknown> = {}, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ModelgraphError';
    this.code = code;
    this.details = details;
  }
}

/**
 * The same error, located: its message starts with `where` (e.g. `requests[3]`,
 * `outcomes[2]`) and `details` are added to its fields. A new object, since one
 * error may stand for many rows.
 */
export function locatedError(err: ModelgraphError, where: string, details: Record<string, unknown>): ModelgraphError {
  const message = err.message.startsWith(where) ? err.message : `${where}: ${err.message}`;
  return new ModelgraphError(err.code, message, { ...err.details, ...details }, { cause: err });
}

export class UnknownAssetError extends ModelgraphError {
  constructor(ticker: string) {
    super(ErrorCode.UNKNOWN_ASSET, `Unknown asset "${ticker}": it is neither a registered ETF nor a supported stock`, {
      ticker,
    });
    this.name = 'UnknownAssetError';
  }
}

export class ModelNotFoundError extends ModelgraphError {
  constructor(model: string) {
    super(ErrorCode.MODEL_NOT_FOUND, `Model "${model}" does not exist`, { model });
    this.name = 'ModelNotFoundError';
  }
}

export class VersionNotFoundError extends ModelgraphError {
  constructor(model: string, version: string) {
    super(ErrorCode.VERSION_NOT_FOUND, `Model "${model}" has no version "${version}"`, { model, version });
    this.name = 'VersionNotFoundError';
  }
}

export class ModelNotDeployedError extends ModelgraphError {
  constructor(model: string, stage: string) {
    super(ErrorCode.MODEL_NOT_DEPLOYED, `Model "${model}" has no ${stage.toLowerCase()} version`, { model, stage });
    this.name = 'ModelNotDeployedError';
  }
}

export class BadUserInputError extends ModelgraphError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super(ErrorCode.BAD_USER_INPUT, message, details);
    this.name = 'BadUserInputError';
  }
}

export class ConflictError extends ModelgraphError {
  constructor(message: string, details: Record<string, unknown> = {}, options?: ErrorOptions) {
    super(ErrorCode.CONFLICT, message, details, options);
    this.name = 'ConflictError';
  }
}

export class IntegrityError extends ModelgraphError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super(ErrorCode.INTEGRITY_ERROR, message, details);
    this.name = 'IntegrityError';
  }
}

export class InvalidModelError extends ModelgraphError {
  constructor(message: string, details: Record<string, unknown> = {}, options?: ErrorOptions) {
    super(ErrorCode.INVALID_MODEL, message, details, options);
    this.name = 'InvalidModelError';
  }
}

export class StorageUnavailableError extends ModelgraphError {
  constructor(message: string, options?: ErrorOptions) {
    super(ErrorCode.STORAGE_UNAVAILABLE, message, {}, options);
    this.name = 'StorageUnavailableError';
  }
}

export class UnauthenticatedError extends ModelgraphError {
  constructor(
    message = "This operation needs an authenticated principal (local server: Authorization: Bearer <a principal's token>; on Lambda: a JWT sent to /admin/graphql)",
  ) {
    super(ErrorCode.UNAUTHENTICATED, message);
    this.name = 'UnauthenticatedError';
  }
}

export class ForbiddenError extends ModelgraphError {
  /** The caller lacks `scope` (named in `extensions.requiredScope`). */
  constructor(scope: string, message?: string, details: Record<string, unknown> = {}) {
    super(
      ErrorCode.FORBIDDEN,
      message ?? `The caller is authenticated but lacks the ${scope} scope this operation needs`,
      scope ? { requiredScope: scope, ...details } : details,
    );
    this.name = 'ForbiddenError';
  }

  /**
   * A governance rule refuses the caller whatever its scopes (four eyes, a
   * rejected version): `extensions.rule` names it.
   */
  static byRule(rule: string, message: string, details: Record<string, unknown> = {}): ForbiddenError {
    return new ForbiddenError('', message, { rule, ...details });
  }
}

/** One rule of a model's promotion policy that a promotion would break. */
export interface ViolatedRule {
  rule: string;
  required: string;
  actual: string;
}

/** A promotion refused by the model's policy: `extensions.violations` lists every broken rule; nothing was changed. */
export class PolicyViolationError extends ModelgraphError {
  constructor(model: string, version: string, violations: ViolatedRule[]) {
    super(
      ErrorCode.POLICY_VIOLATION,
      `Promoting ${model}@${version} to production breaks its promotion policy: ${violations
        .map((v) => `${v.rule} requires ${v.required}, has ${v.actual}`)
        .join(
          '; ',
        )}. Nothing was changed (a principal with models:approve may promote with override: true and a reason)`,
      { model, version, violations },
    );
    this.name = 'PolicyViolationError';
  }
}
