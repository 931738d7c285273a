import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalServer, type LocalServer } from '../../src/local/server';

export interface GraphQLResponse<T = Record<string, any>> {
  status: number;
  data?: T | null;
  errors?: Array<{ message: string; path?: (string | number)[]; extensions?: Record<string, any> }>;
}

export interface TestStack {
  server: LocalServer;
  dataDir: string;
  /** POST a GraphQL operation over real HTTP to the local server. */
  gql<T = Record<string, any>>(
    query: string,
    variables?: Record<string, unknown>,
    opts?: { token?: string | null; settle?: boolean },
  ): Promise<GraphQLResponse<T>>;
  /** Same, with the write token. */
  gqlAsWriter<T = Record<string, any>>(query: string, variables?: Record<string, unknown>): Promise<GraphQLResponse<T>>;
  close(): Promise<void>;
}

/**
 * A real stack for integration tests: the embedded S3 server (s3rver with our
 * conditional-write front) in a fresh temp folder, seeded with the demo models,
 * and the local GraphQL server on an ephemeral loopback port.
 */
/** Both ways ObjectStore reads S3 (S3_READ_PATH): storage tests run against each. */
export const READ_PATHS = ['signed', 'sdk'] as const;

export async function startTestStack(
  opts: { env?: Record<string, string | undefined>; seed?: boolean; dataDir?: string } = {},
): Promise<TestStack> {
  const dataDir = opts.dataDir ?? (await mkdtemp(join(tmpdir(), 'modelgraph-test-')));
  const env: Record<string, string | undefined> = {
    NODE_ENV: 'test',
    MODELGRAPH_WRITE_TOKEN: 'test-write-token-0123456789',
    POINTER_TTL_SECONDS: '30',
    // Events: no periodic catch-up unless a test asks for one (its S3 requests would land in other tests' counts).
    EVENTS_CATCHUP_SECONDS: '0',
    ...opts.env,
  };
  const server = await startLocalServer({ port: 0, dataDir, env, seed: opts.seed });
  // The start-up catch-up (and the seed's events) run in the background: let them finish first.
  await server.runtime.events.idle();
  const gql = async <T>(
    query: string,
    variables?: Record<string, unknown>,
    o: { token?: string | null; settle?: boolean } = {},
  ): Promise<GraphQLResponse<T>> => {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (o.token) headers.authorization = `Bearer ${o.token}`;
    const res = await fetch(server.graphqlUrl, { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
    const body = (await res.json()) as GraphQLResponse<T>;
    // A move's events are delivered in the background after its answer: unless the test is about that
    // (settle: false), wait for them, so the S3 requests they make never land in a later step's counts.
    if (o.settle !== false) await server.runtime.events.idle();
    return { ...body, status: res.status };
  };
  return {
    server,
    dataDir,
    gql,
    gqlAsWriter: (query, variables) => gql(query, variables, { token: server.writeToken }),
    close: async () => {
      await server.close();
      if (!opts.dataDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** Deterministic feature values for a model's feature names (row `i` differs from row `j`). */
export function featuresFor(names: readonly string[], i: number): Record<string, number> {
  const out: Record<string, number> = {};
  names.forEach((n, k) => {
    const x = Math.sin((i + 1) * 12.9898 + (k + 1) * 78.233) * 43758.5453;
    out[n] = Number(((x - Math.floor(x)) * 2 - 1).toFixed(4));
  });
  return out;
}
