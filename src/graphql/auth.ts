import { timingSafeEqual, createHash } from 'node:crypto';
import { ForbiddenError, UnauthenticatedError } from '../errors';

/** The caller of one request, derived from its credentials before any resolver runs. */
export interface Caller {
  id: string;
  authenticated: boolean;
  canWrite: boolean;
}

export const ANONYMOUS: Caller = { id: 'anonymous', authenticated: false, canWrite: false };

/**
 * Local server: `Authorization: Bearer <token>` grants write permission when it
 * equals the configured token (compared in constant time over digests).
 */
export function callerFromBearer(authorization: string | undefined, writeToken: string | undefined): Caller {
  if (!authorization) return ANONYMOUS;
  const match = /^Bearer\s+(.+)$/i.exec(authorization.trim());
  if (!match) return { id: 'invalid-credentials', authenticated: false, canWrite: false };
  if (!writeToken) return { id: 'token-holder', authenticated: true, canWrite: false };
  const given = createHash('sha256').update(match[1]).digest();
  const expected = createHash('sha256').update(writeToken).digest();
  return timingSafeEqual(given, expected)
    ? { id: 'local-token', authenticated: true, canWrite: true }
    : { id: 'invalid-credentials', authenticated: false, canWrite: false };
}

/**
 * Lambda: API Gateway's JWT authorizer has already verified the token; its
 * claims arrive in the event. Write permission is the configured scope.
 */
export function callerFromJwtClaims(claims: Record<string, unknown> | undefined, writeScope: string): Caller {
  if (!claims) return ANONYMOUS;
  const id = String(claims.sub ?? claims.client_id ?? claims.username ?? 'jwt-caller');
  const rawScopes = claims.scope ?? claims.scp ?? '';
  const scopes = Array.isArray(rawScopes)
    ? rawScopes.map(String)
    : String(rawScopes)
        .replace(/^\[|\]$/g, '')
        .split(/[\s,]+/)
        .filter(Boolean);
  return { id, authenticated: true, canWrite: scopes.includes(writeScope) };
}

export function requireWrite(caller: Caller): void {
  if (!caller.authenticated) throw new UnauthenticatedError();
  if (!caller.canWrite) throw new ForbiddenError();
}
