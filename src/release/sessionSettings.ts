import type { Config } from '../config';
import type { SessionSettings } from '../inference/modelBundle';

/** Validation loads candidates with the same session settings they will be served with. */
export function sessionSettings(
  config: Pick<Config, 'ORT_INTRA_OP_THREADS' | 'ORT_GRAPH_OPTIMIZATION'>,
): SessionSettings {
  return { intraOpNumThreads: config.ORT_INTRA_OP_THREADS, graphOptimizationLevel: config.ORT_GRAPH_OPTIMIZATION };
}
