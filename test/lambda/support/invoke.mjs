// Invokes a built Lambda handler the way the Node.js runtime does: import the
// module once (the init phase), then call `handler(event, context)` for each
// event in order, in the same process (warm invocations).
//
//   node invoke.mjs <handler file> <export name> <event.json>...
//
// Results go to file descriptor 3 as JSON lines, so stdout and stderr carry
// only what the handler itself wrote (its logs and EMF metrics):
//   { "kind": "init", "importMs", "sinceProcessStartMs", "exportType", "resolves": {...} }
//   { "kind": "result", "event", "ms", "result" }   or   { "kind": "crash", "event", "error" }
import { writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename } from 'node:path';
import { readFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';

const [handlerFile, exportName, ...eventFiles] = process.argv.slice(2);
const emit = (record) => writeSync(3, `${JSON.stringify(record)}\n`);

/** Where a package resolves from the handler's folder (NODE_PATH included), or null. */
function resolvesFrom(file, name) {
  try {
    return createRequire(file).resolve(name);
  } catch {
    return null;
  }
}

const importStart = performance.now();
const mod = await import(pathToFileURL(handlerFile).href);
const importEnd = performance.now();
const handler = mod[exportName];
emit({
  kind: 'init',
  importMs: importEnd - importStart,
  // performance.now() counts from the start of this process.
  sinceProcessStartMs: importEnd,
  exportType: typeof handler,
  resolves: {
    'onnxruntime-node': resolvesFrom(handlerFile, 'onnxruntime-node'),
    '@apollo/server': resolvesFrom(handlerFile, '@apollo/server'),
    '@aws-sdk/client-s3': resolvesFrom(handlerFile, '@aws-sdk/client-s3'),
  },
});

const functionName = process.env.AWS_LAMBDA_FUNCTION_NAME ?? 'modelgraph-test';
for (const file of eventFiles) {
  const event = JSON.parse(await readFile(file, 'utf8'));
  const requestId = `${basename(file, '.json')}-${Math.random().toString(16).slice(2, 10)}`;
  const deadline = Date.now() + 15_000;
  const context = {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: '1',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:123456789012:function:${functionName}:live`,
    memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE ?? '1024',
    awsRequestId: requestId,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: '2026/11/27/[1]0123456789abcdef0123456789abcdef',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
  const started = performance.now();
  try {
    const result = await handler(event, context);
    emit({
      kind: 'result',
      event: basename(file, '.json'),
      requestId,
      ms: performance.now() - started,
      sinceProcessStartMs: performance.now(),
      result,
    });
  } catch (err) {
    emit({ kind: 'crash', event: basename(file, '.json'), requestId, error: String(err?.stack ?? err) });
  }
}
