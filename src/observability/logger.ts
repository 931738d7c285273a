import { Logger } from '@aws-lambda-powertools/logger';

/** Keys whose values never reach a log line, wherever they appear in logged attributes. */
const REDACTED_KEYS = new Set([
  'authorization',
  'cookie',
  'cookies',
  'token',
  'writetoken',
  'features',
  'variables',
  'body',
  'query',
]);

/**
 * The process-wide structured logger (Powertools for AWS Lambda): JSON lines
 * with the service name and, on Lambda, the invocation's request id (the
 * handler calls `logger.addContext(context)` per invocation). Level from
 * LOG_LEVEL. Locally, POWERTOOLS_DEV=true pretty-prints the same records.
 *
 * What we log is chosen so that secrets and feature values never appear: the
 * GraphQL operation name, timings, counters and error codes, never the query,
 * the variables or headers. The replacer below is the second line of defence.
 */
export const logger = new Logger({
  serviceName: 'modelgraph',
  jsonReplacerFn: (key: string, value: unknown) => (REDACTED_KEYS.has(key.toLowerCase()) ? '[redacted]' : value),
});
