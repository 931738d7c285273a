import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';

/** The CloudWatch namespace of every metric Modelgraph publishes (template.yaml's alarms and dashboard read it). */
export const METRICS_NAMESPACE = 'Modelgraph';
/** The service name: Powertools publishes every metric with the one dimension service=<this>. */
export const METRICS_SERVICE = 'modelgraph';

/** The metrics Modelgraph publishes (namespace Modelgraph, dimension service=modelgraph). */
export const MetricName = {
  ModelLoadTime: 'ModelLoadTime',
  ModelCacheHit: 'ModelCacheHit',
  ModelCacheMiss: 'ModelCacheMiss',
  S3Fetches: 'S3Fetches',
  PredictionLatency: 'PredictionLatency',
  /** Rows answered by a staging version in shadow mode, and how many agreed with production. */
  ShadowRows: 'ShadowRows',
  ShadowAgreements: 'ShadowAgreements',
  /** Shadow answers that could not be computed (staging failed or takes other features); production was unaffected. */
  ShadowFailures: 'ShadowFailures',
  /** Rows served by staging through canary routing. */
  CanaryRows: 'CanaryRows',
  /** Rows run through onnxruntime (predict, predictMany, predictMatrix; a shadow or ensemble member row counts again). */
  RowsPredicted: 'RowsPredicted',
  /** Loaded models the model cache evicted (memory bound MODEL_CACHE_MAX_MB). */
  ModelCacheEvictions: 'ModelCacheEvictions',
  /** Errors with code STORAGE_UNAVAILABLE in a response (S3 unreachable or failing after retries). */
  StorageUnavailable: 'StorageUnavailable',
} as const;

/**
 * The process-wide metrics buffer (Powertools for AWS Lambda), written to
 * stdout as CloudWatch Embedded Metric Format documents when the handler
 * flushes it at the end of every invocation. With POWERTOOLS_DEV=true (local
 * development) Powertools disables publishing.
 */
export const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: METRICS_SERVICE });

export { MetricUnit };
