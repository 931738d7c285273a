import { createHash, timingSafeEqual } from 'node:crypto';
import { ForbiddenError, UnauthenticatedError } from '../errors';

/**
 * What a principal may do. `models:write`: push/register, promote, roll back,
 * tags, aliases, traffic. `models:approve`: approve, reject, promotion policy,
 * and promotions that override the policy.
 */
export const Scope = { WRITE: 'models:write', APPROVE: 'models:approve' } as const;
export type Scope = (typeof Scope)[keyof typeof Scope];
export const ALL_SCOPES: readonly Scope[] = [Scope.WRITE, Scope.APPROVE];

/**
 * The caller of one request, derived from its credentials before any resolver
 * runs. `id` is the authenticated principal (a local principal's name, or the
 * JWT's subject on Lambda): it is what every record's `by` holds.
 */
export interface Caller {
  id: string;
  authenticated: boolean;
  /** The scopes this caller holds (see Scope). */
  scopes: readonly string[];
}

export const ANONYMOUS: Caller = Object.freeze({ id: 'anonymous', authenticated: false, scopes: [] });
const INVALID: Caller = Object.freeze({ id: 'invalid-credentials', authenticated: false, scopes: [] });

/** A local principal as the server checks it: its name, scopes and the sha256 of its token. */
export interface PrincipalCredential {
  name: string;
  scopes: readonly string[];
  tokenSha256: string;
}

export function tokenDigest(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}

/**
 * Local server: `Authorization: Bearer <token>` names the principal whose token
 * it is (compared in constant time over sha256 digests, so neither the token
 * nor its length leaks through timing).
 */
export function callerFromBearer(
  authorization: string | undefined,
  principals: readonly PrincipalCredential[],
): Caller {
  if (!authorization) return ANONYMOUS;
  const match = /^Bearer\s+(.+)$/i.exec(authorization.trim());
  if (!match) return INVALID;
  const given = tokenDigest(match[1]);
  let found: PrincipalCredential | undefined;
  for (const p of principals) {
    // Every principal is compared, so the time does not say which one matched.
    if (timingSafeEqual(given, Buffer.from(p.tokenSha256, 'hex')) && !found) found = p;
  }
  return found ? { id: found.name, authenticated: true, scopes: [...found.scopes] } : INVALID;
}

/** Which claims name the principal and carry its scopes (Lambda configuration). */
export interface JwtClaimSettings {
  /** The claim naming the principal (PRINCIPAL_CLAIM, default `sub`). */
  principalClaim: string;
  /** Scope names as the identity provider spells them (WRITE_SCOPE, APPROVE_SCOPE). */
  writeScope: string;
  approveScope: string;
}

/**
 * Lambda: API Gateway's JWT authorizer has already verified the token; its
 * claims arrive in the event. The principal is the configured claim (`sub` by
 * default); the provider's scope names are mapped to Modelgraph's scopes.
 */
export function callerFromJwtClaims(claims: Record<string, unknown> | undefined, settings: JwtClaimSettings): Caller {
  if (!claims) return ANONYMOUS;
  const named = claims[settings.principalClaim] ?? claims.sub ?? claims.client_id;
  if (typeof named !== 'string' || named.length === 0) return INVALID;
  const rawScopes = claims.scope ?? claims.scp ?? '';
  const granted = Array.isArray(rawScopes)
    ? rawScopes.map(String)
    : String(rawScopes)
        .replace(/^\[|\]$/g, '')
        .split(/[\s,]+/)
        .filter(Boolean);
  const scopes: Scope[] = [];
  if (granted.includes(settings.writeScope)) scopes.push(Scope.WRITE);
  if (granted.includes(settings.approveScope)) scopes.push(Scope.APPROVE);
  return { id: named.slice(0, 200), authenticated: true, scopes };
}

export function hasScope(caller: Caller, scope: Scope): boolean {
  return caller.authenticated && caller.scopes.includes(scope);
}

/** UNAUTHENTICATED without credentials, FORBIDDEN (naming the scope) without the scope. */
export function requireScope(caller: Caller, scope: Scope): void {
  if (!caller.authenticated) throw new UnauthenticatedError();
  if (!caller.scopes.includes(scope)) throw new ForbiddenError(scope);
}

/** Push, register, promote, roll back, tags, aliases, traffic. */
export function requireWrite(caller: Caller): void {
  requireScope(caller, Scope.WRITE);
}
