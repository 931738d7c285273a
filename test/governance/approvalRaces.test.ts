/**
 * Approval racing promotion under `requireApproval`. The promotion's gate
 * reads the candidate's approval document after the pointer it replaces and
 * before it writes that pointer with If-Match; the approval lives in a
 * document of its own. So:
 *
 * - approve ∥ promote of a PENDING version: a promotion that succeeds read an
 *   APPROVED generation of the approval document (its deployment record says
 *   which); one that read PENDING is POLICY_VIOLATION and production is
 *   untouched. An unapproved version never gets through.
 * - reject ∥ promote of an APPROVED version: THE GUARANTEE is that a
 *   promotion that succeeded read APPROVED (record.approval = APPROVED at
 *   generation g); a rejection that landed after that read has a later
 *   generation and is ordered after the promotion. The version then shows
 *   REJECTED while serving; a rollback away from it works, a rollback to it is
 *   refused. A promotion that read REJECTED is POLICY_VIOLATION (notRejected).
 *
 * Each race runs through the GraphQL API (reviewer and writer principals) and
 * between two separate runtimes over the same bucket (own S3 clients, nothing
 * cached shared), for many rounds with a new version each round. Which side
 * wins a round is the scheduler's choice; the rounds sweep which side starts
 * first, by 0–9 ms, across the window where the outcome flips, and both
 * outcomes must have been seen.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config';
import { PolicyViolationError } from '../../src/errors';
import { EMBEDDED_S3_CREDENTIALS } from '../../src/local/s3/credentials';
import { governanceGate } from '../../src/release/promotionGate';
import { approvalKey } from '../../src/registry/bucketLayout';
import { ApprovalDocumentSchema, type ApprovalDocument } from '../../src/registry/governanceRecords';
import { parseJsonDocument, type DeploymentRecord } from '../../src/registry/versionMetadata';
import { createRuntime, type Runtime } from '../../src/runtime';
import { createS3Client } from '../../src/storage/s3Client';
import { startTestStack, type TestStack } from '../support/stack';
import { eventually, storedPointer } from '../writePath/support';
import { codes, publish, snapshot } from './support';

const APPROVE = `mutation($m: ID!, $v: String!, $n: String) { approveVersion(model: $m, version: $v, note: $n) { status generation } }`;
const REJECT = `mutation($m: ID!, $v: String!, $n: String) { rejectVersion(model: $m, version: $v, note: $n) { status generation } }`;
const PROMOTE = `mutation($m: ID!, $v: String!, $r: String) { promote(model: $m, version: $v, reason: $r) { id toVersion approval generation } }`;
const ROLLBACK = `mutation($m: ID!, $to: String, $r: String) { rollback(model: $m, to: $to, reason: $r) { toVersion fromVersion by } }`;
const POLICY = `mutation($m: ID!) { setPromotionPolicy(model: $m, policy: { requireApproval: true }, reason: "race test") { generation } }`;

/** What one side of a race answered, whoever asked (GraphQL or a separate runtime). */
type Decision = { ok: true; generation: number } | { ok: false; code: string };
type Promotion = { ok: true; id: string } | { ok: false; code: string; violations: Array<{ rule: string }> };

interface Sides {
  decide(model: string, version: string, note: string): Promise<Decision>;
  promote(model: string, version: string, reason: string): Promise<Promotion>;
}

describe('approval racing promotion never lets an unapproved version through', () => {
  let stack: TestStack;
  let admin: string;
  let writer: string;
  let reviewer: string;
  const clients: S3Client[] = [];
  const MIN_ROUNDS = 12;
  const MAX_ROUNDS = 30;
  const runtimes: Runtime[] = [];

  /** A runtime of its own over the stack's bucket: what another process (another Lambda instance) would have. */
  function separateRuntime(): Runtime {
    const s3Client = createS3Client({
      region: 'us-east-1',
      endpoint: stack.server.s3!.endpoint,
      credentials: EMBEDDED_S3_CREDENTIALS,
    });
    clients.push(s3Client);
    const runtime = createRuntime(
      loadConfig({
        NODE_ENV: 'test',
        MODEL_BUCKET: stack.server.runtime.bucket,
        S3_ENDPOINT: stack.server.s3!.endpoint,
        POINTER_TTL_SECONDS: '0',
      }),
      { s3Client },
    );
    runtimes.push(runtime);
    return runtime;
  }

  async function approvalDoc(model: string, version: string): Promise<ApprovalDocument> {
    const key = approvalKey(model, version);
    return parseJsonDocument(ApprovalDocumentSchema, (await stack.server.runtime.store.get(key)).body, key);
  }

  /** The deployment record with this id as the stored production pointer holds it. */
  async function storedRecord(model: string, id: string): Promise<DeploymentRecord> {
    const record = (await storedPointer(stack, model)).history.find((r) => r.id === id);
    expect(record, `deployment ${id} in the production pointer's history`).toBeDefined();
    return record!;
  }

  /** Publishes v0 (approved) and puts it in production, then sets requireApproval. */
  async function governedModel(model: string): Promise<void> {
    await publish(stack, admin, model, 'v0', { seed: 1 });
    expect((await stack.gql(APPROVE, { m: model, v: 'v0' }, { token: reviewer })).errors).toBeUndefined();
    expect((await stack.gql(PROMOTE, { m: model, v: 'v0' }, { token: writer })).errors).toBeUndefined();
    expect((await stack.gql(POLICY, { m: model }, { token: reviewer })).errors).toBeUndefined();
  }

  function graphQLSides(action: 'approve' | 'reject'): Sides {
    return {
      decide: async (m, v, n) => {
        const res = await stack.gql(action === 'approve' ? APPROVE : REJECT, { m, v, n }, { token: reviewer });
        const answer = res.data?.[action === 'approve' ? 'approveVersion' : 'rejectVersion'];
        return answer ? { ok: true, generation: answer.generation } : { ok: false, code: codes(res)[0]! };
      },
      promote: async (m, v, r) => {
        const res = await stack.gql(PROMOTE, { m, v, r }, { token: writer });
        if (res.data?.promote) {
          expect(res.data.promote).toMatchObject({ toVersion: v, approval: 'APPROVED' });
          return { ok: true, id: res.data.promote.id };
        }
        return { ok: false, code: codes(res)[0]!, violations: res.errors![0].extensions!.violations ?? [] };
      },
    };
  }

  /** Decisions from one separate runtime, promotions (with the API's governance gate) from another. */
  function runtimeSides(action: 'approve' | 'reject'): Sides {
    const approver = separateRuntime();
    const promoter = separateRuntime();
    return {
      decide: async (model, version, note) => {
        try {
          const doc = await approver.governance.decide({
            model,
            version,
            status: action === 'approve' ? 'APPROVED' : 'REJECTED',
            by: 'reviewer',
            note,
          });
          return { ok: true, generation: doc.generation };
        } catch (err) {
          return { ok: false, code: (err as { code?: string }).code ?? String(err) };
        }
      },
      promote: async (model, version, reason) => {
        try {
          const { record } = await promoter.deployments.promote({
            model,
            version,
            stage: 'PRODUCTION',
            by: 'writer',
            reason,
            gate: governanceGate(promoter, { override: false }),
          });
          return { ok: true, id: record.id };
        } catch (err) {
          if (err instanceof PolicyViolationError)
            return { ok: false, code: err.code, violations: err.details.violations as Array<{ rule: string }> };
          return { ok: false, code: (err as { code?: string }).code ?? String(err), violations: [] };
        }
      },
    };
  }

  /**
   * Starts both sides: `a` first by `lead` ms (negative: `b` first), or both at once. The rounds sweep the lead
   * across the window where the outcome flips; once half the rounds have passed without one of the two outcomes,
   * the side that produces it starts 15 ms earlier (it still races).
   */
  function leadFor(round: number, missing: 'a' | 'b' | null): number {
    if (missing && round > MIN_ROUNDS / 2) return missing === 'a' ? 15 : -15;
    const ms = ((round >> 1) % 4) * 3; // 0, 0, 3, 3, 6, 6, 9, 9, 0, …
    return round % 2 ? ms : -ms;
  }

  async function race<A, B>(a: () => Promise<A>, b: () => Promise<B>, lead: number): Promise<[A, B]> {
    if (lead === 0) return Promise.all([a(), b()]);
    const [first, second] = lead > 0 ? [a, b] : [b, a];
    const started = first();
    await sleep(Math.abs(lead));
    const other = await second();
    const result = await started;
    return (lead > 0 ? [result, other] : [other, result]) as [A, B];
  }

  beforeAll(async () => {
    // Pointer TTL 0: the server revalidates pointers on every request, so it serves the separate runtimes' moves at once.
    stack = await startTestStack({ seed: false, env: { SHADOW_FLUSH_SECONDS: '3600', POINTER_TTL_SECONDS: '0' } });
    admin = stack.server.writeToken;
    writer = stack.server.principals.add('writer', ['models:write']);
    reviewer = stack.server.principals.add('reviewer', ['models:approve']);
  });
  afterAll(async () => {
    for (const r of runtimes) await r.events.idle(); // their event deliveries, before their clients go
    for (const c of clients) c.destroy();
    await stack?.close();
  });

  for (const via of ['GraphQL', 'separate runtimes'] as const) {
    it(`approveVersion ∥ promote of a PENDING version (${via}): a promotion that succeeds read an APPROVED generation; a refused one is POLICY_VIOLATION and production is unchanged`, async () => {
      const model = via === 'GraphQL' ? 'universal/gov_race_approve_api' : 'universal/gov_race_approve_rt';
      await governedModel(model);
      const sides = via === 'GraphQL' ? graphQLSides('approve') : runtimeSides('approve');
      let promoted = 0;
      let refused = 0;
      for (let round = 1; round <= MAX_ROUNDS; round++) {
        if (round > MIN_ROUNDS && promoted > 0 && refused > 0) break;
        // Prepare: a new PENDING version, published by admin
        const version = `v${round}`;
        await publish(stack, admin, model, version, { seed: 10 + round });
        const production = await snapshot(stack, [`${model}/production/`]);
        const lead = leadFor(round, promoted === 0 ? 'a' : refused === 0 ? 'b' : null);

        // Act: the reviewer approves while the writer promotes
        const [approval, promotion] = await race(
          () => sides.decide(model, version, `round ${round}`),
          () => sides.promote(model, version, `round ${round}`),
          lead,
        );

        // Assess: the approval always lands (the reviewer is not the publisher)
        expect(approval).toEqual({ ok: true, generation: 2 });
        const doc = await approvalDoc(model, version);
        if (promotion.ok) {
          promoted++;
          // The record says what the gate read: APPROVED, at a generation whose record is an approval.
          const record = await storedRecord(model, promotion.id);
          expect(record).toMatchObject({ to: version, approval: { status: 'APPROVED' } });
          const read = doc.history.find((h) => h.generation === record.approval!.generation);
          expect(read).toMatchObject({ action: 'APPROVE', status: 'APPROVED', by: 'reviewer' });
          expect((await storedPointer(stack, model)).version).toBe(version);
        } else {
          refused++;
          expect(promotion.code).toBe('POLICY_VIOLATION');
          expect(promotion.violations).toEqual([{ rule: 'requireApproval', required: 'APPROVED', actual: 'PENDING' }]);
          // Nothing moved: the production folder (pointer and history) is byte for byte as before.
          expect(await snapshot(stack, [`${model}/production/`])).toEqual(production);
        }
      }
      console.log(`approve ∥ promote (${via}): ${promoted} promoted after reading APPROVED, ${refused} refused`);
      expect(promoted).toBeGreaterThan(0);
      expect(refused).toBeGreaterThan(0);
      // Over all rounds: every promotion in production's history carries an APPROVED read.
      for (const r of (await storedPointer(stack, model)).history.filter((h) => h.action === 'PROMOTE'))
        expect(r.approval?.status).toBe('APPROVED');
    }, 120_000);
  }

  for (const via of ['GraphQL', 'separate runtimes'] as const) {
    it(`rejectVersion ∥ promote of an APPROVED version (${via}): a successful promotion read APPROVED and the rejection is ordered after it; the rejected version can be rolled back from, never to`, async () => {
      const model = via === 'GraphQL' ? 'universal/gov_race_reject_api' : 'universal/gov_race_reject_rt';
      await governedModel(model);
      const sides = via === 'GraphQL' ? graphQLSides('reject') : runtimeSides('reject');
      let promoted = 0;
      let refused = 0;
      for (let round = 1; round <= MAX_ROUNDS; round++) {
        if (round > MIN_ROUNDS && promoted > 0 && refused > 0) break;
        // Prepare: a new version, published by admin and approved by the reviewer; production serves v0
        const version = `v${round}`;
        await publish(stack, admin, model, version, { seed: 40 + round });
        expect((await stack.gql(APPROVE, { m: model, v: version }, { token: reviewer })).errors).toBeUndefined();
        const production = await snapshot(stack, [`${model}/production/`]);
        expect((await storedPointer(stack, model)).version).toBe('v0');
        const lead = leadFor(round, promoted === 0 ? 'b' : refused === 0 ? 'a' : null);

        // Act: the reviewer rejects while the writer promotes
        const [rejection, promotion] = await race(
          () => sides.decide(model, version, `round ${round}: overfit`),
          () => sides.promote(model, version, `round ${round}`),
          lead,
        );

        // Assess: the rejection always lands, as generation 3 (REGISTER 1, APPROVE 2, REJECT 3)
        expect(rejection).toEqual({ ok: true, generation: 3 });
        const doc = await approvalDoc(model, version);
        expect(doc).toMatchObject({ status: 'REJECTED', generation: 3 });
        if (promotion.ok) {
          promoted++;
          // THE GUARANTEE: the promotion read APPROVED (generation 2); the rejection (generation 3) came after that
          // read, so it is ordered after the promotion — never the other way round.
          const record = await storedRecord(model, promotion.id);
          expect(record.approval).toEqual({ status: 'APPROVED', generation: 2 });
          expect(doc.history.find((h) => h.generation === record.approval!.generation)?.status).toBe('APPROVED');
          expect(doc.history.find((h) => h.status === 'REJECTED')!.generation).toBeGreaterThan(
            record.approval!.generation,
          );
          // It serves, and shows REJECTED while serving.
          const served = await eventually(
            async () => {
              const res = await stack.gql(
                `{ model(id: "${model}") { production { version approval { status generation } } } }`,
              );
              return res.data?.model?.production?.version === version ? res.data.model.production : undefined;
            },
            30_000,
            `${model} production to serve ${version}`,
          );
          expect(served.approval).toEqual({ status: 'REJECTED', generation: 3 });
          // A rollback away from it works (the policy never blocks a rollback)…
          const away = await stack.gql(ROLLBACK, { m: model, r: 'rejected while serving' }, { token: writer });
          expect(away.errors).toBeUndefined();
          expect(away.data!.rollback).toEqual({ fromVersion: version, toVersion: 'v0', by: 'writer' });
          // …a rollback to it is refused, and moves nothing.
          const back = await snapshot(stack, [`${model}/production/`]);
          const to = await stack.gql(ROLLBACK, { m: model, to: version, r: 'no' }, { token: writer });
          expect(codes(to)).toEqual(['FORBIDDEN']);
          expect(to.errors![0].extensions).toMatchObject({ rule: 'REJECTED_VERSION' });
          expect(await snapshot(stack, [`${model}/production/`])).toEqual(back);
        } else {
          refused++;
          expect(promotion.code).toBe('POLICY_VIOLATION');
          expect(promotion.violations).toContainEqual({
            rule: 'notRejected',
            required: 'not REJECTED',
            actual: 'REJECTED',
          });
          expect(await snapshot(stack, [`${model}/production/`])).toEqual(production);
        }
      }
      console.log(`reject ∥ promote (${via}): ${promoted} promoted after reading APPROVED, ${refused} refused`);
      expect(promoted).toBeGreaterThan(0);
      expect(refused).toBeGreaterThan(0);
      // Every promotion in production's history read an APPROVED approval.
      for (const r of (await storedPointer(stack, model)).history.filter((h) => h.action === 'PROMOTE'))
        expect(r.approval?.status).toBe('APPROVED');
    }, 120_000);
  }
});
