import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';

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
} as const;

/**
 * The process-wide metrics buffer (Powertools for AWS Lambda), written to
 * stdout as CloudWatch Embedded Metric Format documents when the handler
 * flushes it at the end of every invocation. With POWERTOOLS_DEV=true (local
 * development) Powertools disables publishing.
 */
export const metrics = new Metrics({ namespace: 'Modelgraph', serviceName: 'modelgraph' });

export { MetricUnit };
