import type { S3Client } from '@aws-sdk/client-s3';
import type { Config } from './config';
import { ArtifactSource, type ArtifactDiskCache } from './inference/artifactSource';
import { DiskArtifactCache } from './inference/diskCache';
import { ModelCache } from './inference/modelCache';
import { Predictor } from './inference/predictor';
import { ShadowTracker } from './inference/shadowTracker';
import { createEventDelivery, type EventDelivery } from './events/eventDelivery';
import type { Evaluations, EvaluationsOptions } from './evaluation/evaluations';
import type { ScoringDeps } from './evaluation/chunkScoring';
import { logger } from './observability/logger';
import { Deployments } from './registry/deployments';
import { Governance } from './registry/governance';
import { modelRegistryFeed } from './registry/modelRegistryFeed';
import { Registry } from './registry/registry';
import { ObjectStore } from './storage/objectStore';
import { signedReader, type ObjectReader } from './storage/s3Reads';

/**
 * Process-wide state, created once per process (module scope on Lambda) and
 * shared by every request: the S3 client, the caches and the domain services.
 * Per-request state (DataLoaders, caller) lives in the GraphQL context instead.
 */
export interface Runtime {
  config: Config;
  bucket: string;
  store: ObjectStore;
  registry: Registry;
  artifacts: ArtifactSource;
  models: ModelCache;
  predictor: Predictor;
  deployments: Deployments;
  /** Approvals, tags, aliases and promotion policies (compare-and-swap documents beside the versions). */
  governance: Governance;
  /**
   * Events derived from the records of record, delivered off the request path
   * (webhook, EventBridge), and repair of the derived registry documents.
   * The local server starts its catch-up timer; on AWS a scheduled function does.
   */
  events: EventDelivery;
  /** Shadow-mode agreement counts (flushed to the bucket). */
  shadows: ShadowTracker;
  /** The artifact disk cache (config DISK_CACHE_DIR), if any. */
  diskCache?: ArtifactDiskCache;
  /** Evaluations of versions on datasets (in-process, or Step Functions with EVALUATION_STATE_MACHINE_ARN). */
  evaluations: EvaluationsApi;
}

/** What the rest of the process uses of Evaluations (src/evaluation/evaluations.ts). */
export type EvaluationsApi = Pick<Evaluations, 'start' | 'get' | 'forVersion' | 'idle'>;

/**
 * Evaluations, loaded on first use: the module (its record schemas, the chunk scoring, the
 * Step Functions executor) is not needed to answer a prediction, and the Lambda build puts
 * it in a chunk that a cold start then neither compiles nor evaluates. Same methods, same
 * errors: each call waits for the module, then delegates.
 */
function lazyEvaluations(deps: ScoringDeps, config: Config, opts: EvaluationsOptions): EvaluationsApi {
  let loading: Promise<Evaluations> | undefined;
  const loaded = () =>
    (loading ??= Promise.all([
      import('./evaluation/evaluations'),
      config.EVALUATION_STATE_MACHINE_ARN ? import('./evaluation/stepFunctionsExecutor') : undefined,
    ]).then(
      ([{ Evaluations }, sfn]) =>
        new Evaluations(deps, {
          ...opts,
          executor: sfn?.stepFunctionsExecutor({
            stateMachineArn: config.EVALUATION_STATE_MACHINE_ARN!,
            region: config.AWS_REGION,
          }),
        }),
    ));
  return {
    start: async (input) => (await loaded()).start(input),
    get: async (id) => (await loaded()).get(id),
    forVersion: async (model, version) => (await loaded()).forVersion(model, version),
    // Nothing runs before the module is loaded, so nothing to wait for.
    idle: async () => {
      if (loading) await (await loading).idle();
    },
  };
}

export interface RuntimeOverrides {
  /** The SDK client for writes and listings (and for reads without `credentials` or with S3_READ_PATH=sdk). */
  s3Client?: S3Client;
  /** Static credentials (Lambda: the role's, from its environment); with them reads are signed without the SDK. */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  diskCache?: ArtifactDiskCache;
  /** Receives problems that were swallowed so a request could succeed (e.g. the disk cache is full). */
  onWarning?: (message: string, details: Record<string, unknown>) => void;
}

/** Signed reads (no SDK) when configured and the credentials are known; else reads go through the SDK client. */
function readerFor(
  config: Config,
  connection: { region: string; credentials?: RuntimeOverrides['credentials'] } & Record<string, unknown>,
): ObjectReader | undefined {
  if (config.S3_READ_PATH !== 'signed' || !connection.credentials) return undefined;
  return signedReader({ ...connection, credentials: connection.credentials });
}

export function createRuntime(config: Config, overrides: RuntimeOverrides = {}): Runtime {
  if (!config.MODEL_BUCKET) throw new Error('MODEL_BUCKET is not set');
  const connection = {
    region: config.AWS_REGION,
    endpoint: config.S3_ENDPOINT,
    credentials: overrides.credentials,
    maxAttempts: config.S3_MAX_ATTEMPTS,
    connectionTimeoutMs: config.S3_CONNECT_TIMEOUT_MS,
    requestTimeoutMs: config.S3_REQUEST_TIMEOUT_MS,
  };
  // The SDK client is imported when the first write or listing needs it: a first prediction only reads.
  const client =
    overrides.s3Client ?? (() => import('./storage/s3Client').then(({ createS3Client }) => createS3Client(connection)));
  const store = new ObjectStore(client, config.MODEL_BUCKET, { reader: readerFor(config, connection) });
  const registry = new Registry(store, {
    pointerTtlMs: config.POINTER_TTL_SECONDS * 1000,
    maxStaleMs: config.POINTER_MAX_STALE_SECONDS * 1000,
  });
  const diskCache =
    overrides.diskCache ??
    (config.DISK_CACHE_DIR
      ? new DiskArtifactCache({
          dir: config.DISK_CACHE_DIR,
          maxBytes: config.DISK_CACHE_MAX_MB * 1024 * 1024,
          onWarning: overrides.onWarning,
        })
      : undefined);
  const artifacts = new ArtifactSource(store, diskCache);
  const models = new ModelCache(artifacts, {
    maxBytes: config.MODEL_CACHE_MAX_MB * 1024 * 1024,
    session: { intraOpNumThreads: config.ORT_INTRA_OP_THREADS, graphOptimizationLevel: config.ORT_GRAPH_OPTIMIZATION },
    bulk:
      config.ORT_BULK_INTRA_OP_THREADS > 1
        ? { intraOpNumThreads: config.ORT_BULK_INTRA_OP_THREADS, minRows: config.ORT_BULK_MIN_ROWS }
        : undefined,
  });
  const shadows = new ShadowTracker(store, {
    flushIntervalMs: config.SHADOW_FLUSH_SECONDS * 1000,
    compactAfterFiles: config.SHADOW_COMPACT_FILES,
    onWarning: overrides.onWarning,
  });
  const predictor = new Predictor(registry, models, shadows);
  const deployments = new Deployments(registry, { onWarning: overrides.onWarning });
  deployments.addListener(modelRegistryFeed(registry)); // metadata/model_registry.json + deployment_history.json
  const events = createEventDelivery(config, {
    store,
    registry,
    onWarning: overrides.onWarning ?? ((message, details) => logger.warn(message, details)),
  });
  deployments.addListener(events.deploymentListener); // returns at once: delivery never delays a move
  const governance = new Governance(registry);
  governance.addListener((key) => events.changed(key)); // approval, alias and policy documents
  const evaluations = lazyEvaluations({ store, registry, models }, config, {
    chunkRows: config.EVALUATION_CHUNK_ROWS,
    concurrency: config.EVALUATION_CONCURRENCY,
    onWarning: overrides.onWarning,
  });
  return {
    config,
    bucket: config.MODEL_BUCKET,
    evaluations,
    store,
    registry,
    artifacts,
    models,
    predictor,
    deployments,
    events,
    governance,
    shadows,
    diskCache,
  };
}
