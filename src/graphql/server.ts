import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import {
  ApolloServerPluginCacheControlDisabled,
  ApolloServerPluginInlineTraceDisabled,
  ApolloServerPluginLandingPageDisabled,
} from '@apollo/server/plugin/disabled';
import { resolvers } from '../../resolvers';
import type { GraphQLContext } from './context';
import { createFormatError } from './errors';
import { executableSchema } from './schema';
import { loadTypeDefs } from './typeDefs';
import { queryLimits } from './limits';
import { trustedDocumentsPlugin, type TrustedDocumentsOptions } from './trustedDocuments';
import type { Config } from '../config';

export interface GraphQLServerOptions {
  config: Config;
  introspection: boolean;
  /** Hide internal error messages (NODE_ENV=production). */
  maskInternalErrors: boolean;
  plugins?: ApolloServerPlugin<GraphQLContext>[];
  onInternalError?: (err: unknown) => void;
  /** TRUSTED_DOCUMENTS=allow: a query that is not a trusted document was served. */
  onUntrustedDocument?: TrustedDocumentsOptions['onUntrusted'];
}

const noStore: ApolloServerPlugin<GraphQLContext> = {
  async requestDidStart() {
    return {
      async willSendResponse({ response }) {
        response.http.headers.set('cache-control', 'no-store');
      },
    };
  },
};

/** A what-if build (`--variant schema-at-startup`) lets Apollo build the schema from the SDL text, as it used to. */
declare const __MODELGRAPH_SCHEMA_BY_APOLLO__: boolean | undefined;
const schemaByApollo = typeof __MODELGRAPH_SCHEMA_BY_APOLLO__ === 'boolean' && __MODELGRAPH_SCHEMA_BY_APOLLO__;

/** A what-if build (`--variant apollo-inline-trace`) leaves Apollo's default inline-trace plugin installed. */
declare const __MODELGRAPH_APOLLO_INLINE_TRACE__: boolean | undefined;
const inlineTraceByDefault =
  typeof __MODELGRAPH_APOLLO_INLINE_TRACE__ === 'boolean' && __MODELGRAPH_APOLLO_INLINE_TRACE__;

/** The Apollo Server shared by the local server and the Lambda handler. */
export function createGraphQLServer(opts: GraphQLServerOptions): ApolloServer<GraphQLContext> {
  const limits = queryLimits(opts.config);
  return new ApolloServer<GraphQLContext>({
    ...(schemaByApollo ? { typeDefs: loadTypeDefs(), resolvers } : { schema: executableSchema() }),
    introspection: opts.introspection,
    // CSRF prevention is Apollo's default; stated here because it matters: it
    // stops a browser page elsewhere from firing simple GET/POST mutations.
    csrfPrevention: true,
    includeStacktraceInErrorResponses: false,
    formatError: createFormatError({ maskInternal: opts.maskInternalErrors, onInternalError: opts.onInternalError }),
    // Our own offline GraphiQL is served at / locally; Apollo's landing page loads from a CDN.
    plugins: [
      ApolloServerPluginLandingPageDisabled(),
      // The schema sets no cache hints, and the cache-control plugin wraps every
      // field resolver (≈ 90 ms on a 10,000-row predictMany). Answers are never
      // cacheable, which a one-line plugin says instead.
      ApolloServerPluginCacheControlDisabled(),
      // Apollo installs its inline-trace plugin by default, which only does anything for a
      // federated subgraph (this schema is not one) but still imports, at start-up and before
      // the first request is served, the usage-reporting protobuf (≈ 130 KB to compile).
      ...(inlineTraceByDefault ? [] : [ApolloServerPluginInlineTraceDisabled()]),
      noStore,
      trustedDocumentsPlugin({ mode: opts.config.TRUSTED_DOCUMENTS, onUntrusted: opts.onUntrustedDocument }),
      ...limits.plugins,
      ...(opts.plugins ?? []),
    ],
    validationRules: limits.validationRules,
    parseOptions: { maxTokens: opts.config.MAX_TOKENS },
    allowBatchedHttpRequests: false,
  });
}
