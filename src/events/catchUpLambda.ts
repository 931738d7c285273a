/**
 * AWS Lambda entry of the scheduled events catch-up (template.yaml:
 * EventsCatchUpFunction, run every minute by an EventBridge schedule). Built
 * from the same sources into the same function folder as the API
 * (dist/lambda/function/catchup.mjs, handler `catchup.handler`).
 *
 * The API delivers events right after each move, off the request path; but
 * Lambda freezes an execution environment once its response is sent, and a
 * process may die between a move and its delivery. This function lists every
 * document of record, delivers what the watermark says was never delivered,
 * and repairs metadata/model_registry.json and metadata/deployment_history.json
 * — the same code path as the API's (src/events/eventDelivery.ts). It needs no
 * onnxruntime, GraphQL or model cache: only S3 and the event targets.
 */
import type { Context } from 'aws-lambda';
import { loadConfig } from '../config';
import { logger } from '../observability/logger';
import { openBucket } from '../registry/openBucket';
import { createEventDelivery, type CatchUpReport, type EventDelivery } from './eventDelivery';

function start(env: Record<string, string | undefined>): EventDelivery {
  const config = loadConfig(env);
  const { store, registry } = openBucket(config);

  return createEventDelivery(config, {
    store,
    registry,
    onWarning: (message, details) => logger.warn(message, details),
    onInfo: (message, details) => logger.info(message, details),
  });
}

let events: EventDelivery | undefined;

/** One catch-up per invocation (the schedule's event carries nothing it needs). */
export const handler = async (_event: unknown, context?: Context): Promise<CatchUpReport> => {
  if (context) logger.addContext(context);
  events ??= start(process.env); // a configuration error fails the invocation (and shows in the log)
  const report = await events.catchUp();
  logger.info('events catch-up', { ...report });
  return report;
};
