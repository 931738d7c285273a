/**
 * Who the user is: the token they entered (kept in sessionStorage, so it
 * leaves with the tab) and what `whoami` says it may do. Buttons ask
 * `usePermissions()` whether they are enabled and, if not, why.
 */
import { useApolloClient } from '@apollo/client/react';
import { createContext, useCallback, useContext, useEffect, useState, type ReactNode } from 'react';
import { ConsoleWhoamiDocument, type ConsoleWhoamiMutation } from '../generated/client/graphql';
import { readToken, TOKEN_KEY } from './apollo';
import { describeFailure } from './errors';

export type Caller = ConsoleWhoamiMutation['whoami'];

export interface Session {
  token: string;
  caller: Caller | null;
  /** Why the token was refused, or null. */
  problem: string | null;
  checking: boolean;
  signIn(token: string): void;
  signOut(): void;
}

const SessionContext = createContext<Session | null>(null);

export function SessionProvider({ children }: { children: ReactNode }) {
  const client = useApolloClient();
  const [token, setToken] = useState(readToken);
  const [caller, setCaller] = useState<Caller | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [checking, setChecking] = useState(false);

  useEffect(() => {
    let live = true;
    setCaller(null);
    setProblem(null);
    if (!token) return;
    setChecking(true);
    client
      .mutate({ mutation: ConsoleWhoamiDocument })
      .then((r) => {
        if (!live) return;
        if (r.data) setCaller(r.data.whoami);
      })
      .catch((err: unknown) => {
        if (!live) return;
        const f = describeFailure(err);
        setProblem(`${f.code}: ${f.message}`);
      })
      .finally(() => live && setChecking(false));
    return () => {
      live = false;
    };
  }, [client, token]);

  const signIn = useCallback((t: string) => {
    sessionStorage.setItem(TOKEN_KEY, t);
    setToken(t);
  }, []);
  const signOut = useCallback(() => {
    sessionStorage.removeItem(TOKEN_KEY);
    setToken('');
  }, []);
  return (
    <SessionContext.Provider value={{ token, caller, problem, checking, signIn, signOut }}>
      {children}
    </SessionContext.Provider>
  );
}

export function useSession(): Session {
  const s = useContext(SessionContext);
  if (!s) throw new Error('useSession outside SessionProvider');
  return s;
}

/** Whether a write (`models:write`) or an approval (`models:approve`) is allowed, and if not, why. */
export function usePermissions(): { write: string | null; approve: string | null; who: string | null } {
  const { token, caller, checking, problem } = useSession();
  const missing = (what: string) => {
    if (!token) return `Enter a token with ${what} (top right) to do this.`;
    if (checking) return 'Checking your token…';
    if (problem || !caller) return `Your token was refused (${problem ?? 'unknown'}).`;
    return null;
  };
  const base = missing('models:write');
  const approveBase = missing('models:approve');
  return {
    who: caller?.id ?? null,
    write: base ?? (caller!.canWrite ? null : `${caller!.id} lacks the models:write scope.`),
    approve: approveBase ?? (caller!.canApprove ? null : `${caller!.id} lacks the models:approve scope.`),
  };
}
