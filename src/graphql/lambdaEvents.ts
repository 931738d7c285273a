import { handlers } from '@as-integrations/aws-lambda';
import type { APIGatewayProxyEvent, APIGatewayProxyEventV2 } from 'aws-lambda';
import { ANONYMOUS, callerFromJwtClaims, type Caller, type JwtClaimSettings } from './auth';
import { liftDocumentId } from './trustedDocuments';

type RequestHandler<E, R> = handlers.RequestHandler<E, R>;

/** What API Gateway sends: HTTP API (payload format 2.0) or REST API (1.0) proxy events. */
export type LambdaHttpEvent = APIGatewayProxyEventV2 | APIGatewayProxyEvent;

/** What both API Gateway flavours accept back. */
export interface LambdaHttpResult {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

/** Client-visible codes of failures that happen before GraphQL runs. */
export const LambdaErrorCode = {
  /** The body could not be read (not JSON, bad base64). */
  BAD_REQUEST: 'BAD_REQUEST',
  /** The function could not start (invalid configuration…); details are in its log. */
  STARTUP_FAILED: 'STARTUP_FAILED',
} as const;
export type LambdaErrorCode = (typeof LambdaErrorCode)[keyof typeof LambdaErrorCode];

export function isHttpApiEvent(event: LambdaHttpEvent): event is APIGatewayProxyEventV2 {
  return (event as APIGatewayProxyEventV2).version === '2.0' || 'rawPath' in event;
}

/** A GraphQL-shaped error response (`{ errors: [{ message, extensions: { code } }] }`). */
export function jsonErrorResult(statusCode: number, code: LambdaErrorCode, message: string): LambdaHttpResult {
  const body = JSON.stringify({ errors: [{ message, extensions: { code } }] });
  return {
    statusCode,
    headers: { 'content-type': 'application/json; charset=utf-8', 'content-length': String(Buffer.byteLength(body)) },
    body,
  };
}

/**
 * One request handler for both API Gateway payload formats, so a single
 * function serves an HTTP API (2.0) and a REST API (1.0). Parsing failures
 * become a GraphQL-shaped 400 instead of the integration's plain-text echo of
 * the parser's message — which would quote the body (and its feature values).
 */
export function createApiGatewayRequestHandler(
  opts: { onRejected?: (reason: string) => void } = {},
): RequestHandler<LambdaHttpEvent, LambdaHttpResult> {
  const v2 = handlers.createAPIGatewayProxyEventV2RequestHandler();
  const v1 = handlers.createAPIGatewayProxyEventRequestHandler();
  return {
    fromEvent: (event) => liftDocumentId(isHttpApiEvent(event) ? v2.fromEvent(event) : v1.fromEvent(event)),
    toSuccessResult: (response) => {
      const result = v2.toSuccessResult(response);
      return { statusCode: result.statusCode ?? 200, headers: stringHeaders(result.headers), body: result.body ?? '' };
    },
    toErrorResult: (error) => {
      const reason =
        error instanceof SyntaxError ? 'The request body is not valid JSON' : 'The request could not be read';
      opts.onRejected?.(reason);
      return jsonErrorResult(400, LambdaErrorCode.BAD_REQUEST, reason);
    },
  };
}

function stringHeaders(headers: Record<string, unknown> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers ?? {})) out[k] = String(v);
  return out;
}

/**
 * The caller of one Lambda invocation. Only API Gateway's authorizer output is
 * trusted — it verified the JWT before invoking us; headers are never read here.
 * HTTP API JWT authorizer: `requestContext.authorizer.jwt.{claims, scopes}`;
 * REST API Cognito authorizer: `requestContext.authorizer.claims`.
 */
export function callerFromLambdaEvent(event: LambdaHttpEvent, settings: JwtClaimSettings): Caller {
  const authorizer = (event.requestContext as { authorizer?: Record<string, unknown> } | undefined)?.authorizer;
  if (!authorizer) return ANONYMOUS;
  const jwt = authorizer.jwt as { claims?: Record<string, unknown>; scopes?: unknown } | undefined;
  const claims = jwt?.claims ?? (authorizer.claims as Record<string, unknown> | undefined);
  if (!claims || typeof claims !== 'object') return ANONYMOUS;
  const scopes = Array.isArray(jwt?.scopes) ? jwt.scopes : undefined;
  const withScopes =
    claims.scope === undefined && claims.scp === undefined && scopes ? { ...claims, scope: scopes } : claims;
  return callerFromJwtClaims(withScopes, settings);
}
