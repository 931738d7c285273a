import { channel } from 'node:diagnostics_channel';

/** A timed phase of loading or running a model, on the performance.now() clock. */
export interface LoadTracePhase {
  phase: 's3-get' | 'disk-read' | 'checksum' | 'decompress' | 'ort-import' | 'session-create' | 'probe' | 'run';
  /** Artifact key or `{model}@{version}`. */
  key: string;
  start: number;
  end: number;
}

/**
 * Where a model load spends its time, for the cold-start benchmark
 * (bench/children/trace.mjs subscribes). A diagnostics channel costs one
 * `hasSubscribers` check while nobody listens.
 */
export const loadTrace = channel('modelgraph:load');

export function tracePhase(phase: LoadTracePhase['phase'], key: string, start: number): void {
  if (loadTrace.hasSubscribers)
    loadTrace.publish({ phase, key, start, end: performance.now() } satisfies LoadTracePhase);
}
