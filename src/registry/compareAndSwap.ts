import { setTimeout as sleep } from 'node:timers/promises';
import { ObjectNotFoundError, PreconditionFailedError } from '../storage/errors';

/**
 * The retry loop of a read-modify-write of one JSON document with
 * compare-and-swap (registerAsset, recordOutcomes, the model registry and
 * deployment feed). `attempt(n)` reads the document with its ETag, applies the
 * change and writes it with PutObject If-Match that ETag (If-None-Match: * when
 * there was none). A 412 (changed since read) or 404 (If-Match on a key deleted
 * since) means another writer won: after a jittered backoff the whole attempt
 * runs again on a fresh read, at most `maxAttempts` times; then `exhausted()` is
 * thrown (a CONFLICT that says nothing was changed). Reads inside `attempt` use
 * getIfExists, so a 404 can only come from the conditional write.
 */
export async function retryCompareAndSwap<R>(
  maxAttempts: number,
  attempt: (n: number) => Promise<R>,
  exhausted: () => Error,
): Promise<R> {
  for (let n = 1; n <= maxAttempts; n++) {
    try {
      return await attempt(n);
    } catch (err) {
      if (!(err instanceof PreconditionFailedError || err instanceof ObjectNotFoundError)) throw err;
      if (n < maxAttempts) await sleep(Math.random() * Math.min(1_000, 20 * 2 ** n));
    }
  }
  throw exhausted();
}
