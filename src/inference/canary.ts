/**
 * Canary routing: whether `ticker` is among the `percent` of a model's tickers
 * served by staging. Deterministic — the same model, ticker and percentage give
 * the same answer in every request and on every instance — and monotone: raising
 * the percentage only adds tickers. A ticker is in the canary when
 * fnv1a32(`{model}:{ticker}`) mod 10000 < percent × 100.
 */
export function inCanary(model: string, ticker: string, percent: number): boolean {
  if (percent <= 0) return false;
  if (percent >= 100) return true;
  return canaryBucket(model, ticker) < Math.round(percent * 100);
}

/** The ticker's bucket, 0–9999, for a model: fnv1a32 over the UTF-8 bytes of `{model}:{ticker}`. */
export function canaryBucket(model: string, ticker: string): number {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(`${model}:${ticker}`, 'utf8')) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % 10_000;
}
