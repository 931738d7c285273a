import type { GraphQLScalarType } from 'graphql';
import type { Resolvers } from '../src/generated/resolvers-types';
import { DateTimeISOResolver, JSONObjectResolver, JSONResolver } from 'graphql-scalars';
import { base64Behaviour } from '../src/graphql/base64Scalar';
import { aboutResolvers } from './about';
import { ensembleResolvers } from './ensemble';
import { evaluationResolvers } from './evaluation';
import { governanceResolvers } from './governance';
import { trafficResolvers } from './traffic';
import { assetResolvers } from './asset';
import { deploymentResolvers } from './deployment';
import { modelResolvers } from './model';
import { nodeResolvers } from './node';
import { performanceResolvers } from './performance';
import { predictionResolvers } from './prediction';
import { registrationResolvers } from './registration';
import { registriesResolvers } from './registries';

/**
 * The `DateTime` scalar's behaviour without its name. graphql-tools copies every
 * own property of a scalar resolver onto the schema's scalar, `name` and
 * `description` included, so `DateTime: DateTimeISOResolver` would rename the
 * scalar to `DateTimeISO`: a variable declared `$from: DateTime` then fails
 * validation ("Unknown type DateTime") and GraphiQL shows the wrong name.
 */
const dateTimeBehaviour = {
  serialize: DateTimeISOResolver.serialize,
  parseValue: DateTimeISOResolver.parseValue,
  parseLiteral: DateTimeISOResolver.parseLiteral,
} as unknown as GraphQLScalarType;

const parts: Resolvers[] = [
  aboutResolvers,
  assetResolvers,
  modelResolvers,
  predictionResolvers,
  deploymentResolvers,
  registrationResolvers,
  performanceResolvers,
  registriesResolvers,
  ensembleResolvers,
  trafficResolvers,
  governanceResolvers,
  evaluationResolvers,
  nodeResolvers,
];

/** All resolvers, merged per type. Resolvers stay thin: parse args, call one domain function, return. */
export const resolvers: Resolvers = {
  JSONObject: JSONObjectResolver,
  JSON: JSONResolver,
  DateTime: dateTimeBehaviour,
  Base64: base64Behaviour,
  ...mergeByType(parts),
};

function mergeByType(list: Resolvers[]): Resolvers {
  const merged: Record<string, Record<string, unknown>> = {};
  for (const part of list) {
    for (const [type, fields] of Object.entries(part))
      merged[type] = { ...merged[type], ...(fields as Record<string, unknown>) };
  }
  return merged as Resolvers;
}
