/**
 * Apollo Client 4's InMemoryCache over every operation of client/operations
 * (the generated TypedDocumentNodes, so operations added later are included),
 * with answers from the real local server on the embedded S3 server. Queries
 * run, mutations change state, queries run again: the test fails on any cache
 * warning ("Cache data may be lost…", missing fields, …) Apollo prints.
 */
import type { OperationDefinitionNode, TypeNode } from 'graphql';
import { format } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as generated from '../../src/generated/client/graphql';
import { cacheConfig, possibleTypes } from '../../src/clientPackage/cacheConfig';
import { loadTypeDefs } from '../../src/graphql/typeDefs';
import { featuresFor, startTestStack, type TestStack } from '../support/stack';

// Apollo Client prints its development warnings only with __DEV__.
(globalThis as { __DEV__?: boolean }).__DEV__ = true;
const { ApolloClient, HttpLink, InMemoryCache } = await import('@apollo/client');
const { buildSchema, isObjectType } = await import('graphql');

let stack: TestStack;
const warnings: string[] = [];
const original = { warn: console.warn, error: console.error };

beforeAll(async () => {
  stack = await startTestStack();
  console.warn = (...args: unknown[]) => void warnings.push(format(...args));
  console.error = (...args: unknown[]) => void warnings.push(format(...args));
}, 120_000);
afterAll(async () => {
  console.warn = original.warn;
  console.error = original.error;
  await stack?.close();
});

type Document = { definitions: readonly { kind: string }[] };
const operations = Object.entries(generated)
  .filter(([name, value]) => name.endsWith('Document') && typeof value === 'object' && value !== null)
  .map(([name, value]) => {
    const op = (value as Document).definitions.find(
      (d): d is OperationDefinitionNode => d.kind === 'OperationDefinition',
    );
    return op ? { name, document: value as never, op } : null;
  })
  .filter((x) => x !== null);

/** Values for every variable name the operations use; a new name without one fails the test, saying so. */
async function variableValues(): Promise<Record<string, unknown>> {
  const { data } = await stack.gql(`{ model(id: "etfs/SPY") { production { version featureNames }
    versionsConnection(first: 2) { edges { node { version } } } } }`);
  const spy = data!.model;
  const [a, b] = spy.versionsConnection.edges.map((e: any) => e.node.version);
  const features = featuresFor(spy.production.featureNames, 1);
  return {
    ticker: 'SPY',
    id: 'etfs/SPY',
    model: 'etfs/SPY',
    version: b,
    a,
    b,
    to: null,
    stage: 'STAGING',
    reason: 'apollo cache test',
    note: 'apollo cache test',
    override: false,
    alias: 'champion',
    shadow: true,
    canaryPercent: 10,
    features,
    requests: [{ ticker: 'SPY', features }],
    featureNames: spy.production.featureNames,
    rows: [spy.production.featureNames.map((n: string) => features[n])],
    first: 5,
    after: null,
    filter: null,
    orderBy: null,
    kind: 'ETF',
    name: 'SPDR S&P 500 ETF Trust',
    sector: null,
    usesModel: null,
    voting: 'SOFT',
    members: [{ model: 'etfs/SPY', weight: 1 }],
  };
}

const required = (t: TypeNode) => t.kind === 'NonNullType';

describe('Apollo Client InMemoryCache over client/operations', () => {
  it('the schema’s Node implementations are the cacheConfig’s possibleTypes', () => {
    const schema = buildSchema(loadTypeDefs());
    const nodes = Object.values(schema.getTypeMap())
      .filter((t) => isObjectType(t) && t.getInterfaces().some((i) => i.name === 'Node'))
      .map((t) => t.name)
      .sort();
    expect(possibleTypes.Node).toEqual(nodes);
  });

  it('answers every operation with no cache warning', async () => {
    expect(operations.length).toBeGreaterThanOrEqual(20);
    const values = await variableValues();
    const client = new ApolloClient({
      link: new HttpLink({
        uri: stack.server.graphqlUrl,
        headers: { authorization: `Bearer ${stack.server.writeToken}` },
      }),
      cache: new InMemoryCache(cacheConfig),
    });
    const run = async (kind: 'query' | 'mutation') => {
      for (const { name, document, op } of operations.filter((o) => o.op.operation === kind)) {
        const variables: Record<string, unknown> = {};
        for (const v of op.variableDefinitions ?? []) {
          const key = v.variable.name.value;
          if (!(key in values) && required(v.type)) throw new Error(`${name}: add a value for $${key} to this test`);
          if (key in values) variables[key] = values[key];
        }
        if (kind === 'query') {
          const result = await client.query({ query: document, variables, fetchPolicy: 'network-only' });
          expect(result.error, `${name}: ${result.error?.message}`).toBeUndefined();
        } else {
          // A mutation may be refused by a rule (four eyes, policy…); what it answers goes to the cache.
          await client.mutate({ mutation: document, variables, errorPolicy: 'all' });
        }
      }
    };
    // Act: read, change, read again (replacing what the first reads cached).
    await run('query');
    await run('mutation');
    await run('query');
    // Assess
    expect(warnings).toEqual([]);
  }, 120_000);

  it('would see a data-loss warning: two selections of an id-less value without cacheConfig', async () => {
    const { gql } = await import('@apollo/client');
    const client = new ApolloClient({
      link: new HttpLink({ uri: stack.server.graphqlUrl }),
      cache: new InMemoryCache(),
    });
    await client.query({
      query: gql`
        {
          model(id: "etfs/SPY") {
            id
            traffic {
              shadow
              canaryPercent
            }
          }
        }
      `,
    });
    await client.query({
      query: gql`
        {
          model(id: "etfs/SPY") {
            id
            traffic {
              shadow
            }
          }
        }
      `,
      fetchPolicy: 'network-only',
    });
    expect(warnings.some((w) => w.includes('Cache data may be lost'))).toBe(true);
    warnings.length = 0;
  });
});
