import type { Resolvers } from '../src/generated/resolvers-types';
import { DateTimeISOResolver, JSONObjectResolver, JSONResolver } from 'graphql-scalars';
import { aboutResolvers } from './about';
import { assetResolvers } from './asset';
import { deploymentResolvers } from './deployment';
import { modelResolvers } from './model';
import { predictionResolvers } from './prediction';
import { registrationResolvers } from './registration';

const parts: Resolvers[] = [aboutResolvers, assetResolvers, modelResolvers, predictionResolvers, deploymentResolvers, registrationResolvers];

/** All resolvers, merged per type. Resolvers stay thin: parse args, call one domain function, return. */
export const resolvers: Resolvers = {
  JSONObject: JSONObjectResolver,
  JSON: JSONResolver,
  DateTime: DateTimeISOResolver,
  ...mergeByType(parts),
};

function mergeByType(list: Resolvers[]): Resolvers {
  const merged: Record<string, Record<string, unknown>> = {};
  for (const part of list) {
    for (const [type, fields] of Object.entries(part)) merged[type] = { ...merged[type], ...(fields as Record<string, unknown>) };
  }
  return merged as Resolvers;
}
