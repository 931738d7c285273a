import type { Runtime } from '../runtime';
import type { Caller } from './auth';
import { createLoaders, type Loaders } from './loaders';

/** Per-request state: the caller and fresh DataLoaders over the process-wide runtime. */
export interface GraphQLContext {
  runtime: Runtime;
  caller: Caller;
  loaders: Loaders;
}

export function createContext(runtime: Runtime, caller: Caller): GraphQLContext {
  return { runtime, caller, loaders: createLoaders(runtime) };
}
