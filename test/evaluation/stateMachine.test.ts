/**
 * The evaluation state machine of template.yaml: its Amazon States Language
 * definition is valid (asl-validator), its IAM is scoped, and the plan it
 * runs — the input the API starts it with, one chunk task per item with the
 * definition's payload and retries, then the reduce — is run here against the
 * real chunk handler over the embedded S3 server, with a chunk whose first
 * invocation fails and a chunk whose write is cut off after S3 stored it.
 *
 * Only AWS itself is stood in for: Step Functions' StartExecution is answered
 * by a recorder on loopback (the real SDK client sends it), and the Map/Task
 * semantics this test applies are the few the definition uses (ItemSelector,
 * Parameters with `.$` paths, Retry MaxAttempts).
 */
import { createServer, type Server } from 'node:http';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pushDataset } from '../../src/evaluation/datasets';
import { createEvaluationTaskHandler } from '../../src/evaluation/evaluationLambda';
import { Evaluations } from '../../src/evaluation/evaluations';
import { evaluationChunkKey, evaluationKey, evaluationRunKey, datasetManifestKey } from '../../src/evaluation/layout';
import { stepFunctionsExecutor, type EvaluationExecutionInput } from '../../src/evaluation/stepFunctionsExecutor';
import { ArtifactSource } from '../../src/inference/artifactSource';
import { ModelCache } from '../../src/inference/modelCache';
import { approvalKey, archiveKey, stagePointerKey } from '../../src/registry/bucketLayout';
import { Registry } from '../../src/registry/registry';
import { publish } from '../governance/support';
import {
  iamPatternMatches,
  parameterDefaults,
  parseTemplate,
  resolveValue,
  statesPayload,
  type JsonObject,
} from '../lambda/support/cloudFormation';
import { startTestStack, type TestStack } from '../support/stack';
import { bareLabels, knownRows, modelBytes, parquetOf } from './support';

const validateAsl = createRequire(import.meta.url)('asl-validator') as (definition: unknown) => {
  isValid: boolean;
  errorsText: (separator?: string) => string;
};

const ROOT = join(import.meta.dirname, '../..');
const template = parseTemplate(readFileSync(join(ROOT, 'template.yaml'), 'utf8'));
const defaults = parameterDefaults(template);
const machine = template.Resources.EvaluationStateMachine.Properties as JsonObject;
const FUNCTION_ARN = 'arn:aws:lambda:us-east-1:123456789012:function:stack-EvaluationFunction-abc';

/** The definition as deployed: DefinitionSubstitutions applied. */
function definition(): any {
  const text = JSON.stringify(machine.Definition).replaceAll('${EvaluationFunctionArn}', FUNCTION_ARN);
  return JSON.parse(text);
}

const policies = (resource: string) =>
  (
    resolveValue(template, (template.Resources[resource].Properties as JsonObject).Policies, defaults) as JsonObject[]
  ).flatMap((p) => ((p.PolicyDocument ?? p) as JsonObject).Statement as JsonObject[]);
const list = (v: unknown) => (Array.isArray(v) ? v.map(String) : v === undefined ? [] : [String(v)]);

describe('the evaluation state machine (template.yaml)', () => {
  it('is valid Amazon States Language: a Distributed Map of chunk tasks, then the reduce', () => {
    // Act
    const def = definition();
    const result = validateAsl(def);
    // Assess
    expect(result.isValid, result.errorsText()).toBe(true);
    expect(def.States.ScoreChunks.ItemProcessor.ProcessorConfig).toEqual({
      Mode: 'DISTRIBUTED',
      ExecutionType: 'STANDARD',
    });
    expect(def.States.ScoreChunks.Next).toBe('Reduce');
    expect(def.States.ScoreChunks.ItemProcessor.States.ScoreChunk.Parameters.FunctionName).toBe(FUNCTION_ARN);
    expect(def.States.Reduce.Parameters.Payload.action).toBe('reduce');
    // The checker catches a broken definition (a validator that passes everything proves nothing).
    const broken = definition();
    broken.States.ScoreChunks.Next = 'NoSuchState';
    expect(validateAsl(broken).isValid).toBe(false);
  });

  it('may invoke only the evaluation function (and run its own Map children)', () => {
    // Act
    const statements = policies('EvaluationStateMachineRole');
    // Assess
    const invoke = statements.filter((s) => list(s.Action).includes('lambda:InvokeFunction'));
    expect(invoke).toHaveLength(1);
    expect(list(invoke[0].Resource)).toEqual(['<EvaluationFunction.Arn>', '<EvaluationFunction.Arn>:*']);
    const actions = new Set(statements.flatMap((s) => list(s.Action)));
    expect([...actions].sort()).toEqual([
      'lambda:InvokeFunction',
      'states:DescribeExecution',
      'states:StartExecution',
      'states:StopExecution',
    ]);
    for (const s of statements.filter((x) => list(x.Action).some((a) => a.startsWith('states:'))))
      for (const r of list(s.Resource)) expect(r).toMatch(/:(stateMachine|execution):[^:/]+-evaluation(\/\*)?$/);
    const role = template.Resources.EvaluationStateMachineRole.Properties as JsonObject;
    expect(JSON.stringify(role.AssumeRolePolicyDocument)).toContain('states.amazonaws.com');
  });

  it('lets the evaluation function write only the evaluation prefix, and the API only run documents', () => {
    // Prepare
    const puts = (resource: string) =>
      policies(resource)
        .filter((s) => list(s.Action).includes('s3:PutObject'))
        .flatMap((s) => list(s.Resource));
    const fnPuts = puts('EvaluationFunction');
    const apiPuts = puts('GraphQLFunction');
    const can = (patterns: string[], key: string) =>
      patterns.some((p) => iamPatternMatches(p, `arn:aws:s3:::<ModelBucket>/${key}`));
    const sha = 'a'.repeat(64);
    // Assess
    expect(fnPuts).toEqual(['arn:aws:s3:::<ModelBucket>/*/evaluations/*']);
    for (const key of [
      evaluationChunkKey('etfs/SPY', 'v2', sha, 3),
      evaluationKey('etfs/SPY', 'v2', sha),
      evaluationRunKey('stocks/universal', 'v2', sha),
    ])
      expect(can(fnPuts, key), key).toBe(true);
    for (const key of [
      stagePointerKey('etfs/SPY', 'PRODUCTION'),
      archiveKey('etfs/SPY', 'v2', 'model.onnx'),
      approvalKey('etfs/SPY', 'v2'),
      datasetManifestKey('spy-2024'),
      'metadata/asset_registry.json',
    ])
      expect(can(fnPuts, key), key).toBe(false);
    expect(can(apiPuts, evaluationRunKey('etfs/SPY', 'v2', sha))).toBe(true);
    expect(can(apiPuts, evaluationKey('etfs/SPY', 'v2', sha))).toBe(false);
    expect(can(apiPuts, evaluationChunkKey('etfs/SPY', 'v2', sha, 0))).toBe(false);
    const start = policies('GraphQLFunction').filter((s) => list(s.Action).includes('states:StartExecution'));
    expect(start.map((s) => list(s.Resource))).toEqual([['<EvaluationStateMachine>']]);
    const env = ((template.Resources.GraphQLFunction.Properties as JsonObject).Environment as JsonObject)
      .Variables as JsonObject;
    expect(env.EVALUATION_STATE_MACHINE_ARN).toEqual({ Ref: 'EvaluationStateMachine' });
    expect((template.Resources.EvaluationFunction.Properties as JsonObject).Handler).toBe('evaluate.handler');
  });
});

describe('the state machine plan, run locally over the embedded S3 server', () => {
  const MODEL = 'universal/eval_sfn';
  const N = 1_800;
  let stack: TestStack;
  let recorder: Server;
  const started: Array<{ target: string; body: any }> = [];

  beforeAll(async () => {
    // Prepare: a recorder standing in for Step Functions' StartExecution (AWS JSON 1.0 protocol).
    recorder = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        const parsed = JSON.parse(body);
        started.push({ target: String(req.headers['x-amz-target']), body: parsed });
        res.writeHead(200, { 'content-type': 'application/x-amz-json-1.0' });
        res.end(
          JSON.stringify({
            executionArn: `arn:aws:states:us-east-1:123456789012:execution:m:${parsed.name}`,
            startDate: 0,
          }),
        );
      });
    });
    await new Promise<void>((r) => recorder.listen(0, '127.0.0.1', r));
    stack = await startTestStack({ seed: false });
    const admin = stack.server.writeToken!;
    await publish(stack, admin, MODEL, 'v1', { seed: 31 });
    await publish(stack, admin, MODEL, 'v2', { seed: 32 });
    const promoted = await stack.gql(
      `mutation { promote(model: "${MODEL}", version: "v1", reason: "baseline") { toVersion } }`,
      {},
      { token: admin },
    );
    expect(promoted.errors).toBeUndefined();
  }, 60_000);

  afterAll(async () => {
    await stack?.close();
    await new Promise((r) => recorder?.close(r));
  });

  it('scores every chunk once — a chunk that fails once is retried, a write cut off after S3 stored it is not counted twice — and reduces', async () => {
    // Prepare: 3 row groups of 600 rows; the API side starts an execution through the real SDK client.
    const { store } = stack.server.runtime;
    const rows = knownRows(N, 9);
    const dataset = await pushDataset(store, { name: 'sfn-rows', bytes: parquetOf(rows, 600), by: 'test' });
    const address = recorder.address() as { port: number };
    const separateProcess = () => {
      const registry = new Registry(store, { pointerTtlMs: 0, maxStaleMs: 0 });
      const models = new ModelCache(new ArtifactSource(store), {
        maxBytes: 64 * 1024 * 1024,
        session: { intraOpNumThreads: 1, graphOptimizationLevel: 'all' },
      });
      return { store, registry, models };
    };
    const api = new Evaluations(separateProcess(), {
      executor: stepFunctionsExecutor({
        stateMachineArn: 'arn:aws:states:us-east-1:123456789012:stateMachine:stack-evaluation',
        region: 'us-east-1',
        endpoint: `http://127.0.0.1:${address.port}`,
        credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      }),
    });
    const view = await api.start({
      model: MODEL,
      version: 'v2',
      dataset: 'sfn-rows',
      compareWith: 'PRODUCTION',
      by: 'admin',
    });
    expect(view).toMatchObject({ status: 'RUNNING', executor: 'STEP_FUNCTIONS', chunks: 3 });
    expect(started).toHaveLength(1);
    expect(started[0].target).toBe('AWSStepFunctions.StartExecution');
    const input = JSON.parse(started[0].body.input) as EvaluationExecutionInput;
    expect(input).toEqual({ run: evaluationRunKey(MODEL, 'v2', dataset.sha256), chunks: [0, 1, 2] });

    // Faults: chunk 1's first invocation fails (its PUT answers 503 on every SDK attempt);
    // chunk 2's PUT is stored, then the connection is cut before the answer.
    const s3 = stack.server.s3!;
    const chunkKey = (i: number) => evaluationChunkKey(MODEL, 'v2', dataset.sha256, i);
    s3.injectFault({
      match: (r) => r.method === 'PUT' && r.key === chunkKey(1),
      kind: 'status',
      status: 503,
      times: stack.server.runtime.config.S3_MAX_ATTEMPTS,
    });
    s3.injectFault({ match: (r) => r.method === 'PUT' && r.key === chunkKey(2), kind: 'truncate', times: 1 });

    // Act: the definition's plan, against the chunk handler of a fresh "Lambda" process.
    const handler = createEvaluationTaskHandler(separateProcess());
    const def = definition();
    const map = def.States.ScoreChunks;
    const task = map.ItemProcessor.States.ScoreChunk;
    const maxAttempts = 1 + (task.Retry.find((r: any) => r.ErrorEquals.includes('States.ALL')).MaxAttempts as number);
    const attempts = new Map<number, number>();
    const outcomes: string[] = [];
    for (const item of input.chunks) {
      const itemInput = statesPayload(map.ItemSelector, input, item);
      const event = statesPayload(task.Parameters, itemInput).Payload;
      for (let attempt = 1; ; attempt++) {
        attempts.set(item, attempt);
        try {
          outcomes.push((await handler(event)) && `chunk ${item}`);
          break;
        } catch (err) {
          if (attempt >= maxAttempts) throw err;
        }
      }
    }
    const reduced = await handler(statesPayload(def.States.Reduce.Parameters, input).Payload);
    // A duplicated invocation (Step Functions delivers at least once) changes nothing.
    s3.resetRequests();
    const again = await handler(statesPayload(task.Parameters, statesPayload(map.ItemSelector, input, 0)).Payload);
    const reducedAgain = await handler(statesPayload(def.States.Reduce.Parameters, input).Payload);

    // Assess
    expect([...attempts.entries()]).toEqual([
      [0, 1],
      [1, 2],
      [2, 1],
    ]);
    expect(again).toEqual({ action: 'chunk', chunk: 0, outcome: 'existed' });
    expect(reducedAgain).toEqual(reduced);
    expect(s3.count({ method: 'PUT' })).toBe(0);
    const result = await api.get(view.id);
    expect(result).toMatchObject({ status: 'SUCCEEDED', rowsScored: N, chunksDone: 3, executor: 'STEP_FUNCTIONS' });
    // No double counting: the figures are those of the rows, each once.
    const [candidate, production] = await Promise.all([
      bareLabels(modelBytes(32), rows),
      bareLabels(modelBytes(31), rows),
    ]);
    const metrics = result!.result!.metrics;
    expect(metrics.rows).toBe(N);
    expect(metrics.confusion.matrix.flat().reduce((a, b) => a + b, 0)).toBe(N);
    expect(metrics.correct).toBe(candidate.filter((c, i) => c === rows.labels[i]).length);
    expect(metrics.agreement!.agreements).toBe(candidate.filter((c, i) => c === production[i]).length);
    expect(metrics.pnl!.total).toBeCloseTo(
      rows.pnl.reduce((a, b) => a + b, 0),
      6,
    );
  });

  it('a failure recorded by the Catch marks the run FAILED; starting it again resumes with a new execution', async () => {
    // Prepare
    const { store } = stack.server.runtime;
    const rows = knownRows(400, 4);
    const dataset = await pushDataset(store, { name: 'sfn-fail', bytes: parquetOf(rows, 200), by: 'test' });
    const address = recorder.address() as { port: number };
    const deps = { store, registry: stack.server.runtime.registry, models: stack.server.runtime.models };
    const api = new Evaluations(deps, {
      executor: stepFunctionsExecutor({
        stateMachineArn: 'arn:aws:states:us-east-1:123456789012:stateMachine:stack-evaluation',
        region: 'us-east-1',
        endpoint: `http://127.0.0.1:${address.port}`,
        credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      }),
    });
    const handler = createEvaluationTaskHandler(deps);
    const first = await api.start({
      model: MODEL,
      version: 'v2',
      dataset: 'sfn-fail',
      compareWith: 'NONE',
      by: 'admin',
    });
    const runKey = evaluationRunKey(MODEL, 'v2', dataset.sha256);
    await handler({ action: 'chunk', run: runKey, chunk: 0 });
    // Act: the Catch's RecordFailure payload, as Step Functions builds it.
    await handler(
      statesPayload(definition().States.RecordFailure.Parameters, {
        run: runKey,
        error: { Error: 'States.Timeout', Cause: '{"errorMessage":"chunk 1 timed out"}' },
      }).Payload,
    );
    const failed = await api.get(first.id);
    const resumed = await api.start({
      model: MODEL,
      version: 'v2',
      dataset: 'sfn-fail',
      compareWith: 'NONE',
      by: 'admin',
    });
    // Assess
    expect(failed).toMatchObject({ status: 'FAILED', error: 'States.Timeout: chunk 1 timed out', chunksDone: 1 });
    expect(resumed).toMatchObject({ status: 'RUNNING', attempt: 2, chunksDone: 1 });
    const names = started.slice(-2).map((s) => s.body.name as string);
    expect(names[0]).toMatch(/-a1$/);
    expect(names[1]).toMatch(/-a2$/);
  });
});
