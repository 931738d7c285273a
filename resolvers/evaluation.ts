import type { Evaluation, EvaluationResult, Resolvers } from '../src/generated/resolvers-types';
import { requireWrite } from '../src/graphql/auth';
import type { ModelRef } from '../src/graphql/mappers';
import type { DatasetManifest } from '../src/evaluation/datasets';
import type { EvaluationDocument } from '../src/evaluation/evaluationRecords';
import type { EvaluationView } from '../src/evaluation/evaluations';
import { evaluationKey } from '../src/evaluation/layout';
import { modelTypeOf, parseModelId, parseVersion } from '../src/registry/identifiers';

/** Datasets are read on their first query, not at start-up (the module is not on a prediction's path). */
const datasets = () => import('../src/evaluation/datasets');

const modelRef = (id: string): ModelRef => ({ id, type: modelTypeOf(id)! });

function dataset(m: DatasetManifest) {
  return { ...m, rowGroups: m.rowGroups.length };
}

function result(doc: EvaluationDocument): EvaluationResult {
  const { metrics } = doc;
  return {
    rows: metrics.rows,
    accuracy: metrics.accuracy,
    comparisonAccuracy: metrics.comparisonAccuracy,
    classes: metrics.classes,
    confusion: metrics.confusion,
    monthly: metrics.monthly,
    pnl: metrics.pnl,
    agreement: metrics.agreement,
    candidate: { ...doc.candidate, stage: null },
    comparison: doc.comparison,
    documentKey: evaluationKey(doc.model, doc.version, doc.dataset.sha256),
  };
}

/** The API's view of an evaluation: the run's state, and the figures once written. */
function evaluation(v: EvaluationView): Omit<Evaluation, 'model'> & { model: ModelRef } {
  return {
    id: v.id,
    model: modelRef(v.model),
    version: v.version,
    dataset: v.datasetName,
    datasetSha256: v.datasetSha256,
    status: v.status,
    progress: v.progress,
    chunks: v.chunks,
    chunksDone: v.chunksDone,
    rows: v.rows,
    rowsScored: v.rowsScored,
    executor: v.executor,
    attempt: v.attempt,
    comparisonVersion: v.comparisonVersion,
    startedAt: v.startedAt,
    startedBy: v.startedBy,
    completedAt: v.completedAt,
    error: v.error,
    result: v.result ? result(v.result) : null,
  };
}

export const evaluationResolvers: Resolvers = {
  Query: {
    datasets: async (_parent, _args, { runtime }) => {
      const { listDatasets } = await datasets();
      return (await listDatasets(runtime.store)).map(dataset);
    },
    dataset: async (_parent, args, { runtime }) => {
      const { parseDatasetName, readDatasetManifest } = await datasets();
      const m = await readDatasetManifest(runtime.store, parseDatasetName(args.name));
      return m ? dataset(m) : null;
    },
    evaluation: async (_parent, args, { runtime }) => {
      const v = await runtime.evaluations.get(args.id);
      return v ? evaluation(v) : null;
    },
  },
  Mutation: {
    evaluateVersion: async (_parent, args, { runtime, caller }) => {
      requireWrite(caller);
      const model = parseModelId(args.model);
      const version = parseVersion(args.version);
      const name = (await datasets()).parseDatasetName(args.dataset);
      const view = await runtime.evaluations.start({
        model,
        version,
        dataset: name,
        compareWith: args.compareWith ?? 'PRODUCTION',
        by: caller.id,
      });
      return evaluation(view);
    },
  },
  Version: {
    evaluations: async (v, _args, { runtime }) =>
      (await runtime.evaluations.forVersion(v.model, v.metadata.version)).map(evaluation),
  },
};
