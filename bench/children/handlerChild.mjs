// A fresh process that does what Lambda's Node.js runtime does on a cold start:
// import the function module (module load + module-scope init), then invoke
// its `handler` with an API Gateway HTTP API (payload 2.0) event. Prints the
// timings (performance.now(): 0 = process start) and, when asked, goes on with
// warm invocations of the same handler.
//
// MGB_SPEC names a JSON file: { entryUrl, events: [...], warm?: { count, warmup } }.
import { readFileSync } from 'node:fs';
import { phases, report, requests, sampleLatency } from './trace.mjs';

const scriptStart = performance.now();
const spec = JSON.parse(readFileSync(process.env.MGB_SPEC, 'utf8'));

let invocation = 0;
function lambdaContext() {
  invocation++;
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: process.env.AWS_LAMBDA_FUNCTION_NAME ?? 'modelgraph-bench',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:modelgraph-bench',
    memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE ?? '1769',
    awsRequestId: `bench-${process.pid}-${invocation}`,
    logGroupName: '/aws/lambda/modelgraph-bench',
    logStreamName: 'bench',
    getRemainingTimeInMillis: () => 30_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/** The prediction in a handler result, or an error naming what went wrong. */
function answerOf(result) {
  let body;
  try {
    body = JSON.parse(result?.body ?? '');
  } catch {
    throw new Error(
      `handler answered ${result?.statusCode} with a non-JSON body: ${String(result?.body).slice(0, 300)}`,
    );
  }
  if (result.statusCode !== 200 || body.errors)
    throw new Error(`handler answered ${result.statusCode}: ${JSON.stringify(body.errors ?? body).slice(0, 500)}`);
  const field = body.data?.predict ?? body.data?.predictMany?.[0];
  if (typeof field?.strategy !== 'string')
    throw new Error(`handler answered without a strategy: ${result.body.slice(0, 300)}`);
  return { strategy: field.strategy, version: field.version, model: field.model?.id };
}

try {
  const importStart = performance.now();
  const mod = await import(spec.entryUrl);
  const importEnd = performance.now();
  const invokeStart = performance.now();
  const result = await mod.handler(spec.events[0], lambdaContext());
  const invokeEnd = performance.now();
  const answer = answerOf(result);
  report({
    kind: 'cold',
    scriptStart,
    importStart,
    importEnd,
    invokeStart,
    invokeEnd,
    answer,
    phases,
    requests,
    nodeTiming: performance.nodeTiming.toJSON(),
  });

  if (spec.warm) {
    phases.length = 0;
    requests.length = 0;
    const events = spec.events;
    const samples = await sampleLatency(
      async (i) => {
        const res = await mod.handler(events[i % events.length], lambdaContext());
        if (res.statusCode !== 200) answerOf(res);
      },
      spec.warm.count,
      spec.warm.warmup,
    );
    report({ kind: 'warm', samples, s3Requests: requests.length });
  }
  process.exit(0);
} catch (err) {
  report({ kind: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  process.exit(1);
}
