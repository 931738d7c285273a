/**
 * The console's Apollo Client: a normalised InMemoryCache (every cached object
 * has a global `id`), queries to the read endpoint and mutations, with the
 * user's token, to the write endpoint (`/admin/graphql` behind the JWT
 * authorizer on AWS; `/graphql` locally).
 */
import { ApolloClient, ApolloLink, HttpLink, InMemoryCache } from '@apollo/client';
import { OperationTypeNode } from 'graphql';
import type { ConsoleConfig } from './serve';

export const TOKEN_KEY = 'modelgraph.console.token';

export function readToken(): string {
  try {
    return sessionStorage.getItem(TOKEN_KEY) ?? '';
  } catch {
    return '';
  }
}

export function createClient(config: ConsoleConfig): ApolloClient {
  const auth = new ApolloLink((operation, forward) => {
    const token = readToken();
    if (token && operation.operationType === OperationTypeNode.MUTATION) {
      operation.setContext(({ headers = {} }: { headers?: Record<string, string> }) => ({
        headers: { ...headers, authorization: `Bearer ${token}` },
      }));
    }
    return forward(operation);
  });
  const http = new HttpLink({
    uri: (operation) =>
      operation.operationType === OperationTypeNode.MUTATION ? config.writeEndpoint : config.endpoint,
  });
  return new ApolloClient({
    link: ApolloLink.from([auth, http]),
    cache: new InMemoryCache({
      typePolicies: {
        // Value objects without ids: a newer answer replaces the older one whole.
        Traffic: { merge: true },
        PromotionRules: { merge: true },
        RealizedAccuracy: { merge: true },
        Caller: { keyFields: ['id'] },
      },
    }),
    defaultOptions: { watchQuery: { fetchPolicy: 'cache-and-network' } },
  });
}
