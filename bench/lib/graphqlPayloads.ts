/** GraphQL operations and API Gateway events the benchmark sends. */
import { DEMO_FEATURE_NAMES } from '../../src/demo/strategies';

export const PREDICT_QUERY = `query Predict($ticker: String!, $features: JSONObject!) {
  predict(ticker: $ticker, features: $features) { ticker strategy confidence version model { id } probabilities { label probability } }
}`;

export const PREDICT_MANY_QUERY = `query PredictMany($requests: [PredictionRequest!]!) {
  predictMany(requests: $requests) { ticker strategy confidence version probabilities { label probability } }
}`;

export const PREDICT_MATRIX_QUERY = `query PredictMatrix($ticker: String!, $featureNames: [String!]!, $rows: JSON!) {
  predictMatrix(ticker: $ticker, featureNames: $featureNames, rows: $rows) { version strategies confidences probabilities }
}`;

/** Deterministic feature values in [-1, 1) (row `i` differs from row `j`), the same as the tests' featuresFor. */
export function featureRow(i: number, names: readonly string[] = DEMO_FEATURE_NAMES): Record<string, number> {
  const out: Record<string, number> = {};
  names.forEach((n, k) => {
    const x = Math.sin((i + 1) * 12.9898 + (k + 1) * 78.233) * 43758.5453;
    out[n] = Number(((x - Math.floor(x)) * 2 - 1).toFixed(4));
  });
  return out;
}

/** The same row as a Float32Array in input-column order. */
export function featureVector(i: number, names: readonly string[] = DEMO_FEATURE_NAMES): Float32Array {
  const row = featureRow(i, names);
  return Float32Array.from(names.map((n) => row[n]));
}

/** An API Gateway HTTP API (payload format 2.0) POST /graphql event, as API Gateway sends it. */
export function apiGatewayV2Event(body: unknown, requestId: string) {
  const text = JSON.stringify(body);
  const now = Date.now();
  return {
    version: '2.0',
    routeKey: 'POST /graphql',
    rawPath: '/graphql',
    rawQueryString: '',
    headers: {
      accept: 'application/json',
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(text)),
      host: 'abc123.execute-api.us-east-1.amazonaws.com',
      'user-agent': 'modelgraph-bench',
      'x-forwarded-for': '127.0.0.1',
      'x-forwarded-port': '443',
      'x-forwarded-proto': 'https',
    },
    requestContext: {
      accountId: '000000000000',
      apiId: 'abc123',
      domainName: 'abc123.execute-api.us-east-1.amazonaws.com',
      domainPrefix: 'abc123',
      http: {
        method: 'POST',
        path: '/graphql',
        protocol: 'HTTP/1.1',
        sourceIp: '127.0.0.1',
        userAgent: 'modelgraph-bench',
      },
      requestId,
      routeKey: 'POST /graphql',
      stage: '$default',
      time: new Date(now).toUTCString(),
      timeEpoch: now,
    },
    body: text,
    isBase64Encoded: false,
  };
}

export function predictEvent(ticker: string, row: number, requestId: string) {
  return apiGatewayV2Event(
    { query: PREDICT_QUERY, variables: { ticker, features: featureRow(row) }, operationName: 'Predict' },
    requestId,
  );
}
