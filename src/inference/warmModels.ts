import { parseModelId } from '../registry/identifiers';
import type { Predictor } from './predictor';

export interface WarmResult {
  model: string;
  ok: boolean;
  /** The loaded version, when ok. */
  version?: string;
  /** Error code or name, when not ok (never the message: it may name a key). */
  error?: string;
  ms: number;
}

/**
 * Loads the production version of each named model (for an ensemble: its
 * members' pinned versions) into the process-wide cache (config WARM_MODELS),
 * all at once. Never rejects: a model that fails
 * to warm is reported and simply loads on its first request instead.
 */
export async function warmModels(predictor: Predictor, modelIds: readonly string[]): Promise<WarmResult[]> {
  return Promise.all(
    modelIds.map(async (raw): Promise<WarmResult> => {
      const started = performance.now();
      try {
        const model = parseModelId(raw);
        const version = await predictor.warm(model, 'PRODUCTION');
        return { model, ok: true, version, ms: performance.now() - started };
      } catch (err) {
        const code = (err as { code?: unknown }).code;
        return {
          model: raw.slice(0, 80),
          ok: false,
          error: typeof code === 'string' ? code : ((err as Error)?.name ?? 'Error'),
          ms: performance.now() - started,
        };
      }
    }),
  );
}
