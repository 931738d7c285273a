/**
 * Aliases are compare-and-swap documents with an exact history, like stage
 * pointers. 10 writers race `setAlias` on ONE alias of one model, round after
 * round: first as 10 real child processes (each its own S3 client, registry
 * and Governance — nothing cached shared), then as 10 principals through the
 * GraphQL API. Of the writers that read the same generation exactly one wins
 * it; every loser is CONFLICT and left no trace; the alias document's history
 * holds one record per winning move, generations 1..n without gaps, each `by`
 * the principal that made it. Nothing here measures time.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { aliasKey } from '../../src/registry/bucketLayout';
import { AliasDocumentSchema, type AliasDocument, type AliasRecord } from '../../src/registry/governanceRecords';
import { parseJsonDocument } from '../../src/registry/versionMetadata';
import { startTestStack, type TestStack } from '../support/stack';
import { eventually } from '../writePath/support';
import { codes, publish } from './support';

const MODEL = 'universal/gov_alias_race';
const ALIAS = 'champion';
const WRITERS = 10;
const VERSIONS = Array.from({ length: WRITERS }, (_, i) => `v${i + 1}`);

type Answer =
  { type: 'moved'; record: AliasRecord } | { type: 'failed'; code: string | null; name: string; message: string };

interface Writer {
  child: ChildProcess;
  principal: string;
  next(): Promise<Answer>;
}

describe('10 writers racing setAlias on one alias', () => {
  let stack: TestStack;
  let admin: string;
  const writers: Writer[] = [];

  async function storedAlias(model: string, alias: string): Promise<AliasDocument | null> {
    const key = aliasKey(model, alias);
    const got = await stack.server.runtime.store.getIfExists(key);
    return got ? parseJsonDocument(AliasDocumentSchema, got.body, key) : null;
  }

  /** A writer in a process of its own; resolves once it has made a first S3 request. */
  async function startWriter(principal: string): Promise<Writer> {
    const child = fork(
      join(import.meta.dirname, 'aliasWriterProcess.ts'),
      [stack.server.s3!.endpoint, stack.server.runtime.bucket],
      {
        execArgv: ['--import', 'tsx'],
        env: { ...process.env, NODE_ENV: 'test' },
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      },
    );
    const inbox: unknown[] = [];
    const waiting: Array<{ resolve: (m: unknown) => void; reject: (e: Error) => void }> = [];
    child.on('message', (m) => {
      const w = waiting.shift();
      if (w) w.resolve(m);
      else inbox.push(m);
    });
    child.on('exit', (code) => {
      for (const w of waiting.splice(0)) w.reject(new Error(`writer ${principal} exited (${code})`));
    });
    const receive = () =>
      new Promise<unknown>((resolve, reject) => {
        if (inbox.length) return resolve(inbox.shift());
        waiting.push({ resolve, reject });
      });
    expect(await receive()).toEqual({ type: 'ready' });
    return { child, principal, next: () => receive() as Promise<Answer> };
  }

  beforeAll(async () => {
    stack = await startTestStack({ seed: false });
    admin = stack.server.writeToken;
    for (const [i, v] of VERSIONS.entries()) await publish(stack, admin, MODEL, v, { seed: 100 + i });
    // Started one after another: 10 Node processes at once would only queue on the cores.
    for (let i = 0; i < WRITERS; i++) writers.push(await startWriter(`process-writer-${i}`));
  }, 180_000);

  afterAll(async () => {
    for (const w of writers) {
      if (w.child.exitCode !== null || w.child.signalCode !== null) continue;
      const exited = new Promise((r) => w.child.once('exit', r));
      w.child.send({ type: 'exit' });
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
      if (w.child.exitCode === null) w.child.kill('SIGKILL');
    }
    await stack?.close();
  });

  /**
   * One round's outcome against the document before and after it: winners'
   * records are exactly the history's new records, in generation order
   * without gaps, each starting where the previous ended; losers were CONFLICT
   * and none of their moves is recorded.
   */
  function assessRound(
    before: AliasDocument | null,
    after: AliasDocument,
    wins: Array<{ by: string; reason: string | null; id: string; generation: number; to: string | null }>,
    lossReasons: string[],
  ) {
    const base = before?.generation ?? 0;
    expect(after.history.slice(0, before?.history.length ?? 0)).toEqual(before?.history ?? []);
    const added = after.history.slice(before?.history.length ?? 0);
    // One record per winning move, no other.
    expect(added.map((r) => r.id).sort()).toEqual(wins.map((w) => w.id).sort());
    // Exactly one winner per generation: distinct, consecutive generations.
    expect(added.map((r) => r.generation)).toEqual(added.map((_, k) => base + k + 1));
    expect(wins.map((w) => w.generation).sort((a, b) => a - b)).toEqual(added.map((r) => r.generation));
    expect(after.generation).toBe(base + wins.length);
    // Each record starts where the previous ended; the document names the last winner's version.
    let version = before?.version ?? null;
    for (const r of added) {
      expect(r).toMatchObject({ model: MODEL, alias: ALIAS, action: 'SET', from: version });
      version = r.to;
    }
    expect(after.version).toBe(version);
    // The losers changed nothing: none of their moves is in the history.
    const recorded = new Set(after.history.map((r) => r.reason));
    for (const reason of lossReasons) expect(recorded.has(reason)).toBe(false);
  }

  it('as 10 separate processes, several rounds: one winner per generation, losers CONFLICT, exact history', async () => {
    // At least 5 rounds; more (up to 12) until some writer has lost: which writers read the same generation is
    // the scheduler's choice.
    let losses = 0;
    for (let round = 0; round < 12 && (round < 5 || losses === 0); round++) {
      // Prepare
      const before = await storedAlias(MODEL, ALIAS);
      const moves = writers.map((w, i) => ({
        type: 'move' as const,
        model: MODEL,
        alias: ALIAS,
        version: VERSIONS[(i + round) % VERSIONS.length],
        by: w.principal,
        reason: `round ${round} by ${w.principal}`,
      }));

      // Act: every process gets its move at once
      const answers = writers.map((w) => w.next());
      writers.forEach((w, i) => w.child.send(moves[i]));
      const settled = await Promise.all(answers);

      // Assess
      const wins = settled.flatMap((a) => (a.type === 'moved' ? [a.record] : []));
      const failed = settled.flatMap((a, i) => (a.type === 'failed' ? [{ ...a, reason: moves[i].reason }] : []));
      for (const f of failed)
        expect({ code: f.code, name: f.name }).toEqual({ code: 'CONFLICT', name: 'ConflictError' });
      expect(wins.length).toBeGreaterThanOrEqual(1);
      losses += failed.length;
      for (const w of wins) {
        const asked = moves.find((m) => m.reason === w.reason)!;
        expect(w).toMatchObject({ by: asked.by, to: asked.version });
      }
      const after = (await storedAlias(MODEL, ALIAS))!;
      assessRound(
        before,
        after,
        wins,
        failed.map((f) => f.reason),
      );
    }
    // It was a race: some writers lost.
    console.log(`alias race (processes): ${(await storedAlias(MODEL, ALIAS))!.generation} moves won, ${losses} lost`);
    expect(losses).toBeGreaterThan(0);

    // The whole history: generations 1..n, every `by` one of the writers' principals.
    const doc = (await storedAlias(MODEL, ALIAS))!;
    expect(doc.history.map((r) => r.generation)).toEqual(doc.history.map((_, k) => k + 1));
    for (const r of doc.history) expect(writers.map((w) => w.principal)).toContain(r.by);
    // The API serves what the document holds.
    const read = await eventually(
      async () => {
        const res = await stack.gql(
          `{ model(id: "${MODEL}") { alias(name: "${ALIAS}") { name generation version { version } history { id generation by toVersion } } } }`,
        );
        return res.data?.model?.alias?.generation === doc.generation ? res.data.model.alias : undefined;
      },
      30_000,
      `the alias at generation ${doc.generation}`,
    );
    expect(read).toEqual({
      name: ALIAS,
      generation: doc.generation,
      version: { version: doc.version },
      history: [...doc.history]
        .reverse()
        .map((r) => ({ id: r.id, generation: r.generation, by: r.by, toVersion: r.to })),
    });
  }, 120_000);

  it('through the GraphQL API as 10 principals: each answers an AliasMove or CONFLICT, the history is exact', async () => {
    const alias = 'paper';
    const principals = Array.from({ length: WRITERS }, (_, i) => `api-writer-${i}`);
    const tokens = principals.map((p) => stack.server.principals.add(p, ['models:write']));
    const SET = `mutation($m: ID!, $a: String!, $v: String!, $r: String) {
      setAlias(model: $m, alias: $a, version: $v, reason: $r) { id alias action fromVersion toVersion by reason generation }
    }`;
    const readDoc = async () => {
      const key = aliasKey(MODEL, alias);
      const got = await stack.server.runtime.store.getIfExists(key);
      return got ? parseJsonDocument(AliasDocumentSchema, got.body, key) : null;
    };
    let losses = 0;
    for (let round = 0; round < 12 && (round < 4 || losses === 0); round++) {
      // Prepare
      const before = await readDoc();
      const asked = principals.map((p, i) => ({
        m: MODEL,
        a: alias,
        v: VERSIONS[(i * 3 + round) % VERSIONS.length],
        r: `api round ${round} by ${p}`,
      }));

      // Act
      const answers = await Promise.all(asked.map((vars, i) => stack.gql(SET, vars, { token: tokens[i] })));

      // Assess
      const wins: AliasRecord[] = [];
      const lossReasons: string[] = [];
      answers.forEach((res, i) => {
        if (res.data?.setAlias) {
          expect(res.errors).toBeUndefined();
          expect(res.data.setAlias).toMatchObject({
            alias,
            action: 'SET',
            toVersion: asked[i].v,
            by: principals[i],
            reason: asked[i].r,
          });
          const m = res.data.setAlias;
          wins.push({ ...m, model: MODEL, from: m.fromVersion, to: m.toVersion, at: '' } as AliasRecord);
        } else {
          expect(codes(res)).toEqual(['CONFLICT']);
          lossReasons.push(asked[i].r);
        }
      });
      expect(wins.length).toBeGreaterThanOrEqual(1);
      losses += lossReasons.length;
      const after = (await readDoc())!;
      // (assessRound checks the SET records against MODEL and ALIAS; here the alias is another one.)
      const base = before?.generation ?? 0;
      const added = after.history.slice(before?.history.length ?? 0);
      expect(after.history.slice(0, before?.history.length ?? 0)).toEqual(before?.history ?? []);
      expect(added.map((r) => r.id).sort()).toEqual(wins.map((w) => w.id).sort());
      expect(added.map((r) => r.generation)).toEqual(added.map((_, k) => base + k + 1));
      expect(wins.map((w) => w.generation).sort((a, b) => a - b)).toEqual(added.map((r) => r.generation));
      let version = before?.version ?? null;
      for (const r of added) {
        expect(r.from).toBe(version);
        expect(principals).toContain(r.by);
        // What the winner was told is what was recorded.
        const told = wins.find((w) => w.id === r.id)!;
        expect({ from: r.from, to: r.to, by: r.by, reason: r.reason, generation: r.generation }).toEqual({
          from: told.from,
          to: told.to,
          by: told.by,
          reason: told.reason,
          generation: told.generation,
        });
        version = r.to;
      }
      expect(after.version).toBe(version);
      const recorded = new Set(after.history.map((r) => r.reason));
      for (const reason of lossReasons) expect(recorded.has(reason)).toBe(false);
    }
    console.log(`alias race (GraphQL): ${(await readDoc())!.generation} moves won, ${losses} lost`);
    expect(losses).toBeGreaterThan(0);
  }, 120_000);
});
