import type * as Ort from 'onnxruntime-node';

let ortModule: Promise<typeof Ort> | undefined;

/**
 * onnxruntime-node is imported on first use, not at module load: a cold start
 * that only answers a schema query never pays for it, and the import overlaps
 * the first model's download (see loadModelBundle).
 */
export function onnxRuntime(): Promise<typeof Ort> {
  ortModule ??= import('onnxruntime-node').then((m) => ((m as { default?: typeof Ort }).default ?? m) as typeof Ort);
  return ortModule;
}
