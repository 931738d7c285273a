import * as z from 'zod';

// zod 4 compiles object schemas with `new Function` on first use. That pays for
// hot loops over large objects; Modelgraph parses a few small documents per
// request (pointers, registry, ids) and its hot path (features) skips zod, where
// the interpreter is faster (first pointer parse 1.8 ms instead of 3.7–5.7 ms).
z.config({ jitless: true });

/** A what-if build (scripts/build-lambda.mjs --variant sdk-reads) changes the default read path. */
declare const __MODELGRAPH_S3_READ_PATH__: 'signed' | 'sdk' | undefined;
const DEFAULT_READ_PATH = typeof __MODELGRAPH_S3_READ_PATH__ === 'string' ? __MODELGRAPH_S3_READ_PATH__ : 'signed';

const int = (def: number, min = 0) => z.coerce.number().int().min(min).default(def);
const bool = (def: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no'])
    .optional()
    .transform((v) => (v === undefined ? def : v === 'true' || v === '1' || v === 'yes'));

/**
 * The configuration schema: environment variables, validated once at start-up.
 * template.yaml sets the same names on Lambda; the README lists them.
 */
export const ConfigSchema = z.object({
  NODE_ENV: z.string().default('development'),
  /** Bucket holding the models. Locally, unset means the embedded S3 server. */
  MODEL_BUCKET: z.string().min(3).max(63).optional(),
  S3_ENDPOINT: z.url().optional(),
  AWS_REGION: z.string().default('us-east-1'),
  S3_MAX_ATTEMPTS: int(3, 1),
  S3_CONNECT_TIMEOUT_MS: int(3_000, 1),
  S3_REQUEST_TIMEOUT_MS: int(15_000, 1),
  /**
   * How GETs and HEADs reach S3: `signed` (SigV4 over node:http, no SDK client; needs static credentials such as
   * Lambda's environment gives, else reads use the SDK) or `sdk` (the SDK client, as writes always do).
   */
  S3_READ_PATH: z.enum(['signed', 'sdk']).default(DEFAULT_READ_PATH),
  /**
   * Bound on the summed file size of loaded models (MiB). A loaded tree ensemble
   * takes 8–15× its file size in memory, so 256 MiB of models is ~2–4 GiB of RSS.
   */
  MODEL_CACHE_MAX_MB: int(256, 1),
  /** Seconds a stage pointer is trusted before it is revalidated with If-None-Match. */
  POINTER_TTL_SECONDS: z.coerce.number().min(0).default(30),
  /** While S3 is unreachable, serve a pointer verified at most this many seconds ago. */
  POINTER_MAX_STALE_SECONDS: z.coerce.number().min(0).default(600),
  /** Second cache level for artifacts (Lambda: /tmp). Unset disables it. */
  DISK_CACHE_DIR: z.string().optional(),
  DISK_CACHE_MAX_MB: int(400, 1),
  ORT_INTRA_OP_THREADS: int(1, 1),
  /**
   * onnxruntime threads of a second session per model that runs batches of at
   * least ORT_BULK_MIN_ROWS rows; 1 = no second session. Worth trying where the
   * function has more than one vCPU (Lambda: above 1,769 MB); it did not pay on
   * the 2-core machine this was measured on.
   */
  ORT_BULK_INTRA_OP_THREADS: int(1, 1),
  ORT_BULK_MIN_ROWS: int(1_000, 1),
  ORT_GRAPH_OPTIMIZATION: z.enum(['disabled', 'basic', 'extended', 'all']).default('all'),
  /** Local server: the `admin` principal's bearer token (default: generated once into the data folder). */
  MODELGRAPH_WRITE_TOKEN: z.string().min(16).optional(),
  /** Lambda: the JWT scope that grants models:write (push, promote, roll back, tags, aliases, traffic). */
  WRITE_SCOPE: z.string().default('models:write'),
  /** Lambda: the JWT scope that grants models:approve (approve, reject, policy, overrides). */
  APPROVE_SCOPE: z.string().default('models:approve'),
  /** Lambda: the JWT claim that names the principal recorded as `by`. */
  PRINCIPAL_CLAIM: z.string().default('sub'),
  INTROSPECTION: bool(true),
  /** Local server: serve the GraphiQL page at / (it needs INTROSPECTION for its docs and completion). */
  GRAPHIQL: bool(true),
  /** Seconds between the writes of shadow-mode agreement counts to the bucket (0: after every batch). */
  SHADOW_FLUSH_SECONDS: z.coerce.number().min(0).default(60),
  /** A flush compacts a pair of versions' shadow count files into its summary once it has this many. */
  SHADOW_COMPACT_FILES: int(50, 1),
  /** Most rows one predictMany may carry. */
  MAX_PREDICT_BATCH: int(10_000, 1),
  /** Query limits (graphql-armor): nesting depth, aliases, directives, parser tokens, static cost. */
  MAX_QUERY_DEPTH: int(12, 1),
  MAX_ALIASES: int(100, 1),
  MAX_DIRECTIVES: int(20, 1),
  MAX_TOKENS: int(25_000, 1),
  MAX_QUERY_COST: int(20_000, 1),
  /** Largest accepted request body (local server; API Gateway caps Lambda at 10 MB). */
  MAX_BODY_BYTES: int(8 * 1024 * 1024, 1024),
  /** Comma-separated model ids whose production versions are loaded during init. */
  WARM_MODELS: z
    .string()
    .optional()
    .transform((v) =>
      v
        ? v
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean)
        : [],
    ),
  /** Events: POST every event here (JSON body, X-Modelgraph-Signature: sha256=HMAC of the body). Unset: no webhook. */
  EVENTS_WEBHOOK_URL: z.url().optional(),
  /** Events: the HMAC-SHA256 key of the webhook's signature (required with EVENTS_WEBHOOK_URL). */
  EVENTS_WEBHOOK_SECRET: z.string().min(16).optional(),
  /** Events: the EventBridge bus PutEvents sends to (Source "modelgraph"). Unset: no EventBridge. */
  EVENTS_BUS_NAME: z.string().min(1).max(256).optional(),
  /** Events: another EventBridge endpoint (tests, VPC endpoints). */
  EVENTBRIDGE_ENDPOINT: z.url().optional(),
  /** Local server: seconds between catch-ups (missed events, derived registry documents); 0 = only at start. */
  EVENTS_CATCHUP_SECONDS: z.coerce.number().min(0).default(30),
  /** Events: attempts per target before an event waits for the next catch-up (jittered exponential backoff). */
  EVENTS_MAX_ATTEMPTS: int(5, 1),
  /** Events: the longest one delivery attempt (webhook POST, PutEvents) may take. */
  EVENTS_TIMEOUT_MS: int(5_000, 1),
  /**
   * Trusted documents (client/operations/*.graphql, by `documentId`): `off` serves any query, `allow` serves
   * and logs queries that are not trusted documents, `enforce` refuses them to anonymous callers.
   */
  TRUSTED_DOCUMENTS: z.enum(['off', 'allow', 'enforce']).default('off'),
  LOG_LEVEL: z.enum(['DEBUG', 'INFO', 'WARN', 'ERROR', 'SILENT', 'CRITICAL']).default('INFO'),
  /** Evaluations: the Step Functions state machine that scores chunks on AWS. Unset: chunks are scored in-process. */
  EVALUATION_STATE_MACHINE_ARN: z.string().min(1).optional(),
  /** Evaluations in-process: chunks scored at once. */
  EVALUATION_CONCURRENCY: int(2, 1),
  /** Evaluations: most rows in one chunk (a larger Parquet row group is cut into row ranges). */
  EVALUATION_CHUNK_ROWS: int(100_000, 1_000),
});
export type Config = z.infer<typeof ConfigSchema>;

export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const result = ConfigSchema.safeParse(env);
  if (!result.success) {
    const lines = result.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new Error(`Invalid configuration:\n${lines.join('\n')}`);
  }
  return result.data;
}
