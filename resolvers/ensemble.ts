import { modelRef } from '../src/graphql/mappers';
import type { Resolvers } from '../src/generated/resolvers-types';
import { requireWrite } from '../src/graphql/auth';
import { parseEnsembleRegistration, registerEnsemble } from '../src/release/registerEnsemble';

export const ensembleResolvers: Resolvers = {
  Mutation: {
    registerEnsemble: async (_parent, args, { runtime, caller }) => {
      requireWrite(caller);
      const reg = parseEnsembleRegistration({
        ...args,
        voting: args.voting === 'SOFT' ? 'soft' : args.voting === 'HARD' ? 'hard' : args.voting,
      });
      const metadata = await registerEnsemble(runtime.registry, reg, caller.id);
      await runtime.governance.register(reg.model, reg.version, caller.id);
      return { model: reg.model, metadata };
    },
  },
  EnsembleDefinition: {
    voting: (e) => (e.voting === 'soft' ? 'SOFT' : 'HARD'),
  },
  EnsembleMember: {
    model: (m) => modelRef(m.model),
  },
};
