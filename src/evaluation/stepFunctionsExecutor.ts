import { createHash } from 'node:crypto';
import type { EvaluationExecutor } from './evaluations';

/**
 * What the state machine (template.yaml EvaluationStateMachine) gets: the run
 * document's key and the chunk indices its Distributed Map fans out over. The
 * chunk function reads everything else from the run document, so the input
 * stays small and a forged input can name nothing but an existing run.
 */
export interface EvaluationExecutionInput {
  run: string;
  chunks: number[];
}

/** The event the state machine sends the evaluation function (src/evaluation/evaluationLambda.ts). */
export type EvaluationTask =
  | { action: 'chunk'; run: string; chunk: number }
  | { action: 'reduce'; run: string }
  | { action: 'fail'; run: string; error?: unknown };

/** Execution names are unique per state machine for 90 days: one per run and attempt. */
export function executionName(runKey: string, attempt: number): string {
  return `ev-${createHash('sha256').update(runKey).digest('hex').slice(0, 40)}-a${attempt}`;
}

/**
 * Starts a Step Functions execution per run (AWS: EVALUATION_STATE_MACHINE_ARN).
 * The SDK client is imported on first use: the API's cold start never pays for it.
 */
export function stepFunctionsExecutor(opts: {
  stateMachineArn: string;
  region: string;
  /** Another endpoint (tests: a stand-in on loopback, since Step Functions itself is AWS). */
  endpoint?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string };
}): EvaluationExecutor {
  let client: Promise<{ start: (name: string, input: string) => Promise<string> }> | undefined;
  const sfn = () =>
    (client ??= import('@aws-sdk/client-sfn').then(({ SFNClient, StartExecutionCommand }) => {
      const c = new SFNClient({ region: opts.region, endpoint: opts.endpoint, credentials: opts.credentials });
      return {
        start: async (name: string, input: string) =>
          (await c.send(new StartExecutionCommand({ stateMachineArn: opts.stateMachineArn, name, input })))
            .executionArn ?? name,
      };
    }));
  return {
    kind: 'STEP_FUNCTIONS',
    launch: async (run, runKey) => {
      const input: EvaluationExecutionInput = { run: runKey, chunks: run.chunks.map((c) => c.index) };
      return (await sfn()).start(executionName(runKey, run.attempt), JSON.stringify(input));
    },
  };
}
