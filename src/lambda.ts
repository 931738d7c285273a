/**
 * AWS Lambda entry point (API Gateway HTTP API payload 2.0, or REST API 1.0).
 *
 * Everything process-wide is created once per execution environment, at module
 * scope: configuration, the S3 client, the registry and model caches, the
 * Apollo Server. Warm invocations reuse it; each request gets a fresh GraphQL
 * context (caller, DataLoaders). onnxruntime-node is imported on the first
 * model load, not here, and no model is loaded before a request needs it —
 * except the WARM_MODELS, which load in the background during init.
 *
 * If start-up fails (invalid configuration…) the module still loads: every
 * request then answers a GraphQL-shaped 500 with code STARTUP_FAILED and the
 * cause is in the log, instead of Lambda's opaque Runtime.ImportModuleError.
 */
import { startServerAndCreateLambdaHandler } from '@as-integrations/aws-lambda';
import type { Context } from 'aws-lambda';
import { loadConfig } from './config';
import { ConsoleBundle, consoleLambdaResult } from './console/serve';
import { consoleDistDirBeside } from './console/distDir';
import { createContext } from './graphql/context';
import {
  callerFromLambdaEvent,
  createApiGatewayRequestHandler,
  jsonErrorResult,
  LambdaErrorCode,
  type LambdaHttpEvent,
  type LambdaHttpResult,
} from './graphql/lambdaEvents';
import { createGraphQLServer } from './graphql/server';
import { warmModels } from './inference/warmModels';
import { createApolloMetricsPlugin } from './observability/apolloMetricsPlugin';
import { logger } from './observability/logger';
import { MetricName, metrics, MetricUnit } from './observability/metrics';
import { createRuntime, type Runtime } from './runtime';

/** Where artifacts are cached on Lambda unless DISK_CACHE_DIR says otherwise (empty disables it). */
export const LAMBDA_DISK_CACHE_DIR = '/tmp/modelgraph-cache';

type Serve = (event: LambdaHttpEvent, context: Context) => Promise<LambdaHttpResult>;

type Started = { ok: true; runtime: Runtime; serve: Serve; warming: Promise<void> } | { ok: false; error: unknown };

/** On Lambda the artifact disk cache is on by default: /tmp outlives warm invocations. */
export function lambdaEnvironment(env: Record<string, string | undefined>): Record<string, string | undefined> {
  if (!env.AWS_LAMBDA_FUNCTION_NAME || env.DISK_CACHE_DIR !== undefined) return env;
  return { ...env, DISK_CACHE_DIR: LAMBDA_DISK_CACHE_DIR };
}

/** The execution role's credentials, which Lambda puts in the function's environment. */
export function credentialsFromEnvironment(
  env: Record<string, string | undefined>,
): { accessKeyId: string; secretAccessKey: string; sessionToken?: string } | undefined {
  if (!env.AWS_ACCESS_KEY_ID || !env.AWS_SECRET_ACCESS_KEY) return undefined;
  return {
    accessKeyId: env.AWS_ACCESS_KEY_ID,
    secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
    sessionToken: env.AWS_SESSION_TOKEN || undefined,
  };
}

function start(env: Record<string, string | undefined>): Started {
  try {
    const config = loadConfig(lambdaEnvironment(env));
    const runtime = createRuntime(config, {
      credentials: credentialsFromEnvironment(env),
      onWarning: (message, details) => logger.warn(message, details),
    });
    runtime.models.onLoad = (key, ms) => {
      const loadMs = Math.round(ms * 100) / 100;
      metrics.addMetric(MetricName.ModelLoadTime, MetricUnit.Milliseconds, loadMs);
      logger.info('model loaded', { model: key, loadMs });
    };
    const server = createGraphQLServer({
      config,
      introspection: config.INTROSPECTION,
      maskInternalErrors: config.NODE_ENV === 'production',
      plugins: [createApolloMetricsPlugin({ runtime, logger, metrics })],
      onInternalError: (err) => logger.error('internal error', err instanceof Error ? err : String(err)),
      onUntrustedDocument: (info) => logger.warn('untrusted document served (TRUSTED_DOCUMENTS=allow)', info),
    });
    const requests = createApiGatewayRequestHandler({
      onRejected: (reason) => logger.warn('request rejected before GraphQL', { reason }),
    });
    const lambdaHandler = startServerAndCreateLambdaHandler(server, requests, {
      context: async ({ event }) =>
        createContext(
          runtime,
          callerFromLambdaEvent(event, {
            principalClaim: config.PRINCIPAL_CLAIM,
            writeScope: config.WRITE_SCOPE,
            approveScope: config.APPROVE_SCOPE,
          }),
        ),
    });
    const serve: Serve = (event, context) =>
      lambdaHandler(event, context, () => undefined) as Promise<LambdaHttpResult>;
    // Every first request needs the asset registry: fetch it during init, so the
    // GET (and the SDK's first-request set-up) overlaps the handler's start.
    void runtime.registry
      .assetDirectory()
      .catch((err) => logger.warn('asset registry prefetch failed', { error: String(err) }));
    const warming = config.WARM_MODELS.length
      ? warmModels(runtime.predictor, config.WARM_MODELS).then((results) => logger.info('warm models', { results }))
      : Promise.resolve();
    return { ok: true, runtime, serve, warming };
  } catch (error) {
    logger.critical('Modelgraph could not start; every request answers 500 STARTUP_FAILED until this is fixed', {
      error: error instanceof Error ? error.message : String(error),
    });
    return { ok: false, error };
  }
}

const started = start(process.env);

// The console (GET /console and /console/{proxy+}): files copied beside index.mjs by scripts/build-lambda.mjs,
// read once per execution environment. Mutations go to the JWT-authorized /admin/graphql route.
const consoleBundle = new ConsoleBundle(consoleDistDirBeside(import.meta.url), {
  endpoint: '/graphql',
  writeEndpoint: '/admin/graphql',
  graphiql: null,
  tokenHint: "A JWT from the stack's issuer (JwtIssuer) with the models:write or models:approve scope.",
});

// Provisioned concurrency initialises off the request path: finish warming there.
// On demand, warming overlaps the first request instead of delaying it.
if (started.ok && process.env.AWS_LAMBDA_INITIALIZATION_TYPE === 'provisioned-concurrency') await started.warming;

export const handler = async (event: LambdaHttpEvent, context: Context): Promise<LambdaHttpResult> => {
  logger.addContext(context);
  logger.appendKeys({ apiRequestId: event?.requestContext?.requestId ?? null });
  metrics.captureColdStartMetric(context.functionName);
  try {
    const page = consoleLambdaResult(consoleBundle, event as Parameters<typeof consoleLambdaResult>[1]);
    if (page) return page;
    if (!started.ok) {
      logger.error('request refused: Modelgraph did not start');
      return jsonErrorResult(
        500,
        LambdaErrorCode.STARTUP_FAILED,
        'Modelgraph could not start; the cause is in the function log',
      );
    }
    return await started.serve(event, context);
  } finally {
    if (metrics.hasStoredMetrics()) {
      metrics.addMetadata('requestId', context.awsRequestId);
      metrics.publishStoredMetrics();
    }
    logger.removeKeys(['apiRequestId']);
  }
};
