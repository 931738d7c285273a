/**
 * The server's canary rule (src/inference/canary.ts), for the browser: a ticker
 * is served by staging when fnv1a32(`{model}:{TICKER}`) mod 10000 < percent × 100.
 * The API documents the rule on `Traffic.canaryPercent`; a unit test keeps the
 * two implementations equal.
 */
export function canaryBucket(model: string, ticker: string): number {
  let hash = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(`${model}:${ticker}`)) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % 10_000;
}

/** Whether the ticker is in the model's canary at this percentage. */
export function inCanary(model: string, ticker: string, percent: number): boolean {
  if (percent <= 0) return false;
  if (percent >= 100) return true;
  return canaryBucket(model, ticker) < Math.round(percent * 100);
}
