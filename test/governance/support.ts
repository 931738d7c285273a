import { buildTreeEnsembleClassifier } from '../../src/demo/treeEnsemble';
import type { TestStack, GraphQLResponse } from '../support/stack';

export const GOV_FEATURES = ['iv_rank', 'rsi_14', 'skew', 'term_slope', 'vix'];
export const GOV_LABELS = ['IRON_CONDOR', 'BULL_CALL_SPREAD', 'BEAR_PUT_SPREAD', 'NO_TRADE'];

export interface VersionSpec {
  seed: number;
  featureNames?: string[];
  labels?: string[];
  accuracy?: number;
  created?: string;
  trainingSamples?: number;
  extra?: Record<string, unknown>;
}

/** Uploads a version folder's files the way a training pipeline would (no checksums): not yet a version. */
export async function uploadVersion(
  stack: TestStack,
  model: string,
  version: string,
  spec: VersionSpec,
): Promise<void> {
  const featureNames = spec.featureNames ?? GOV_FEATURES;
  const labels = spec.labels ?? GOV_LABELS;
  const bytes = buildTreeEnsembleClassifier({ featureNames, labels, trees: 4, depth: 3, seed: spec.seed });
  const store = stack.server.runtime.store;
  const prefix = `${model}/archive/${version}/`;
  await store.put(`${prefix}model.onnx`, Buffer.from(bytes));
  await store.put(`${prefix}feature_names.json`, JSON.stringify(featureNames));
  await store.put(
    `${prefix}metadata.json`,
    JSON.stringify({
      strategies: labels,
      ...(spec.accuracy !== undefined ? { accuracy: spec.accuracy } : {}),
      ...(spec.created ? { created: spec.created } : {}),
      ...(spec.trainingSamples !== undefined ? { training_samples: spec.trainingSamples } : {}),
      ...spec.extra,
    }),
  );
}

export const REGISTER = `mutation($m: ID!, $v: String!) { registerVersion(model: $m, version: $v) { version approval { status publishedBy } } }`;

/** Uploads and registers a version as the principal holding `token`. */
export async function publish(
  stack: TestStack,
  token: string,
  model: string,
  version: string,
  spec: VersionSpec,
): Promise<void> {
  await uploadVersion(stack, model, version, spec);
  const res = await stack.gql(REGISTER, { m: model, v: version }, { token });
  if (res.errors) throw new Error(`registerVersion ${model}@${version}: ${JSON.stringify(res.errors)}`);
}

/** Every key under the given prefixes with its ETag: the bucket's state as far as a test cares. */
export async function snapshot(stack: TestStack, prefixes: string[]): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const p of prefixes) {
    for (const o of await stack.server.runtime.store.listObjects(p)) out[o.key] = o.etag ?? '';
  }
  return out;
}

export function codes(res: GraphQLResponse): Array<string | undefined> {
  return (res.errors ?? []).map((e) => e.extensions?.code as string | undefined);
}
