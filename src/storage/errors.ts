import { StorageUnavailableError } from '../errors';

/** The key does not exist (S3 404 NoSuchKey / NotFound). */
export class ObjectNotFoundError extends Error {
  constructor(
    readonly key: string,
    options?: ErrorOptions,
  ) {
    super(`No object at "${key}"`, options);
    this.name = 'ObjectNotFoundError';
  }
}

/**
 * A conditional write lost: S3 answered 412 PreconditionFailed (the ETag moved
 * or the key already exists) or 409 ConditionalRequestConflict (a concurrent
 * conditional write to the same key was in flight).
 */
export class PreconditionFailedError extends Error {
  constructor(
    readonly key: string,
    readonly status: number,
    options?: ErrorOptions,
  ) {
    super(`Conditional write to "${key}" failed (HTTP ${status})`, options);
    this.name = 'PreconditionFailedError';
  }
}

export { StorageUnavailableError };
