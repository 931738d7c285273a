import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as z from 'zod';
import { ALL_SCOPES, tokenDigest, type PrincipalCredential, type Scope } from '../graphql/auth';
import { BadUserInputError, ConflictError } from '../errors';

/**
 * Local named principals, kept in `{dataDir}/principals.json` (mode 0600):
 * a name, scopes and the sha256 of a token, never the token itself. The first
 * start creates `admin` with every scope; `modelgraph token add NAME --scope …`
 * adds others and prints each token once. On Lambda the JWT's subject plays
 * this part (see auth.ts).
 */
export const PRINCIPALS_FILE = 'principals.json';
/** The admin principal's token, written once on first start so `npm start` can print how to use it. */
export const ADMIN_TOKEN_FILE = 'admin-token';
/** The token file of releases before named principals: adopted as admin's token. */
const LEGACY_WRITE_TOKEN_FILE = 'write-token';
export const ADMIN_PRINCIPAL = 'admin';

export const PrincipalNameSchema = z
  .string()
  .regex(
    /^[a-z][a-z0-9_.-]{0,62}$/,
    'a principal name is 1–63 characters: a-z, 0-9, "_", "." or "-", starting with a letter',
  );

const ScopeSchema = z.enum(ALL_SCOPES as [Scope, ...Scope[]]);

const PrincipalRecordSchema = z.object({
  name: PrincipalNameSchema,
  scopes: z.array(ScopeSchema),
  token_sha256: z.string().regex(/^[0-9a-f]{64}$/),
  created_at: z.string(),
});
const PrincipalsDocumentSchema = z.object({ principals: z.array(PrincipalRecordSchema) });
type PrincipalsDocument = z.infer<typeof PrincipalsDocumentSchema>;

export function newToken(): string {
  return `mg_${randomBytes(24).toString('base64url')}`;
}

/** Parses `models:write,models:approve`; an unknown scope is BAD_USER_INPUT naming the known ones. */
export function parseScopes(raw: string): Scope[] {
  const names = raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (names.length === 0) throw new BadUserInputError(`--scope needs at least one of ${ALL_SCOPES.join(', ')}`);
  return [
    ...new Set(
      names.map((n) => {
        const r = ScopeSchema.safeParse(n);
        if (!r.success) throw new BadUserInputError(`Unknown scope "${n}": the scopes are ${ALL_SCOPES.join(', ')}`);
        return r.data;
      }),
    ),
  ];
}

export class LocalPrincipals {
  private readonly file: string;
  private cached: { mtimeMs: number; credentials: PrincipalCredential[] } | undefined;

  constructor(private readonly dataDir: string) {
    this.file = join(dataDir, PRINCIPALS_FILE);
  }

  /**
   * Creates the `admin` principal when the folder has none: its token is
   * `configuredToken` (MODELGRAPH_WRITE_TOKEN), the token of an earlier
   * release's `write-token` file, or a new one written to `admin-token`. A
   * configured token always replaces admin's stored digest.
   * Answers admin's token when this process knows it (else undefined).
   */
  ensureAdmin(configuredToken?: string): string | undefined {
    mkdirSync(this.dataDir, { recursive: true });
    const doc = this.read();
    const admin = doc.principals.find((p) => p.name === ADMIN_PRINCIPAL);
    const tokenFile = join(this.dataDir, ADMIN_TOKEN_FILE);
    let token = configuredToken;
    if (!token && !admin) {
      const legacy = join(this.dataDir, LEGACY_WRITE_TOKEN_FILE);
      token = existsSync(legacy) ? readFileSync(legacy, 'utf8').trim() : newToken();
      writeFileSync(tokenFile, `${token}\n`, { mode: 0o600 });
    }
    if (token) {
      const digest = tokenDigest(token).toString('hex');
      if (admin?.token_sha256 !== digest || admin.scopes.length !== ALL_SCOPES.length) {
        const others = doc.principals.filter((p) => p.name !== ADMIN_PRINCIPAL);
        const record = {
          name: ADMIN_PRINCIPAL,
          scopes: [...ALL_SCOPES],
          token_sha256: digest,
          created_at: admin?.created_at ?? new Date().toISOString(),
        };
        this.write({ principals: [record, ...others] });
      }
      return token;
    }
    return existsSync(tokenFile) ? readFileSync(tokenFile, 'utf8').trim() : undefined;
  }

  /** Adds a principal and answers its token (shown once; only its digest is kept). */
  add(name: string, scopes: Scope[]): string {
    const parsed = PrincipalNameSchema.safeParse(name);
    if (!parsed.success)
      throw new BadUserInputError(`Invalid principal name ${JSON.stringify(name)}: ${parsed.error.issues[0]?.message}`);
    mkdirSync(this.dataDir, { recursive: true });
    const doc = this.read();
    if (doc.principals.some((p) => p.name === name)) {
      throw new ConflictError(`A principal named "${name}" exists; remove it first (modelgraph token remove ${name})`);
    }
    const token = newToken();
    this.write({
      principals: [
        ...doc.principals,
        { name, scopes, token_sha256: tokenDigest(token).toString('hex'), created_at: new Date().toISOString() },
      ],
    });
    return token;
  }

  /** Removes a principal: its token stops working at the server's next request. */
  remove(name: string): boolean {
    const doc = this.read();
    const kept = doc.principals.filter((p) => p.name !== name);
    if (kept.length === doc.principals.length) return false;
    this.write({ principals: kept });
    return true;
  }

  list(): Array<{ name: string; scopes: Scope[]; createdAt: string }> {
    return this.read().principals.map((p) => ({ name: p.name, scopes: p.scopes, createdAt: p.created_at }));
  }

  /** The principals as the server checks them, re-read when the file changes (so `token add` needs no restart). */
  credentials(): PrincipalCredential[] {
    let mtimeMs: number;
    try {
      mtimeMs = statSync(this.file).mtimeMs;
    } catch {
      return [];
    }
    if (this.cached?.mtimeMs !== mtimeMs) {
      const credentials = this.read().principals.map((p) => ({
        name: p.name,
        scopes: p.scopes,
        tokenSha256: p.token_sha256,
      }));
      this.cached = { mtimeMs, credentials };
    }
    return this.cached.credentials;
  }

  private read(): PrincipalsDocument {
    if (!existsSync(this.file)) return { principals: [] };
    const raw: unknown = JSON.parse(readFileSync(this.file, 'utf8'));
    const parsed = PrincipalsDocumentSchema.safeParse(raw);
    if (!parsed.success) {
      throw new Error(
        `${this.file} is malformed: ${parsed.error.issues[0]?.path.join('.')}: ${parsed.error.issues[0]?.message}`,
      );
    }
    return parsed.data;
  }

  /** Written to a temporary file and renamed: a reader never sees half a file. */
  private write(doc: PrincipalsDocument): void {
    const tmp = `${this.file}.${process.pid}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(doc, null, 2)}\n`, { mode: 0o600 });
    chmodSync(tmp, 0o600);
    renameSync(tmp, this.file);
  }
}
