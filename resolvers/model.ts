import { modelRef } from '../src/graphql/mappers';
import { VersionNotFoundError } from '../src/errors';
import type { Resolvers } from '../src/generated/resolvers-types';
import type { Loaders } from '../src/graphql/loaders';
import type { VersionRef } from '../src/graphql/mappers';
import { assetPage } from './asset';
import { deploymentPage } from './deployment';
import { searchModelVersions, versionConnection } from './governance';
import { parseModelId, parseVersion, type Stage } from '../src/registry/identifiers';
import { primaryArtifactName, taskOf } from '../src/registry/versionMetadata';

export const modelResolvers: Resolvers = {
  Query: {
    model: async (_parent, args, { runtime }) => {
      const id = parseModelId(args.id);
      return (await runtime.registry.modelExists(id)) ? modelRef(id) : null;
    },
    models: async (_parent, args, { runtime }) => {
      const models = await runtime.registry.listModels();
      return models.filter((m) => !args.type || m.type === args.type);
    },
  },
  Model: {
    production: async (model, _args, { loaders }) => {
      const pointer = await loaders.stagePointer.load(`${model.id}|PRODUCTION`);
      return pointer ? { model: model.id, metadata: pointer.value } : null;
    },
    generation: async (model, args, { loaders }) =>
      (await loaders.stagePointer.load(`${model.id}|${args.stage ?? 'PRODUCTION'}`))?.value.generation ?? 0,
    staging: async (model, _args, { loaders }) => {
      const pointer = await loaders.stagePointer.load(`${model.id}|STAGING`);
      return pointer ? { model: model.id, metadata: pointer.value } : null;
    },
    versions: async (model, args, ctx) => {
      if (args.filter || args.orderBy || args.first != null || args.after)
        return searchModelVersions(ctx, model.id, args);
      const { loaders } = ctx;
      const names = await loaders.versions.load(model.id);
      const metas = await loaders.versionMetadata.loadMany(names.map((v) => `${model.id}@${v}`));
      // A folder without metadata.json is an unfinished upload, not a version.
      return metas.flatMap((m): VersionRef[] => (m instanceof Error ? [] : [{ model: model.id, metadata: m }]));
    },
    version: async (model, args, { loaders }) => {
      const version = parseVersion(args.version);
      try {
        return { model: model.id, metadata: await loaders.versionMetadata.load(`${model.id}@${version}`) };
      } catch (err) {
        if (err instanceof VersionNotFoundError) return null;
        throw err;
      }
    },
    versionsConnection: (model, args, ctx) => versionConnection(ctx, [model.id], args),
    assets: async (model, _args, { runtime }) =>
      (await runtime.registry.assetDirectory()).assets.filter((a) => a.modelId === model.id),
    assetsConnection: async (model, args, { runtime }) =>
      assetPage(
        (await runtime.registry.assetDirectory()).assets.filter((a) => a.modelId === model.id),
        args,
      ),
    historyConnection: (model, args, { runtime }) => deploymentPage(runtime, model.id, args),
    history: async (model, args, { runtime }) => {
      const first = Math.min(Math.max(args.first ?? 20, 0), 500);
      return (await runtime.deployments.history(model.id, first)).slice(0, first);
    },
  },
  Version: {
    model: (v) => modelRef(v.model),
    version: (v) => v.metadata.version,
    stages: async (v, _args, { loaders }) => stagesOf(v, loaders),
    stage: async (v, _args, { loaders }) => (await stagesOf(v, loaders))[0] ?? null,
    createdAt: (v) => v.metadata.created ?? null,
    accuracy: (v) => v.metadata.accuracy ?? null,
    trainingSamples: (v) => v.metadata.training_samples ?? null,
    featureNames: async (v, _args, { runtime }) => runtime.registry.featureNames(v.model, v.metadata),
    labels: (v) => v.metadata.strategies ?? [],
    targets: (v) => (v.metadata.task === 'regression' ? (v.metadata.targets ?? []) : []),
    task: (v) => taskOf(v.metadata),
    sizeBytes: (v) => v.metadata.artifacts[primaryArtifactName(v.metadata)].size,
    sha256: (v) => v.metadata.artifacts[primaryArtifactName(v.metadata)].sha256,
    modelFile: (v) => primaryArtifactName(v.metadata),
    ensemble: (v) => v.metadata.ensemble ?? null,
  },
};

async function stagesOf(v: VersionRef, loaders: Loaders): Promise<Stage[]> {
  const stages: Stage[] = ['PRODUCTION', 'STAGING'];
  const pointers = await Promise.all(stages.map((s) => loaders.stagePointer.load(`${v.model}|${s}`)));
  return stages.filter((_, i) => pointers[i]?.value.version === v.metadata.version);
}
