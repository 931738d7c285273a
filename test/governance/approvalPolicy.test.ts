import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { featuresFor, startTestStack, type TestStack } from '../support/stack';
import { codes, GOV_FEATURES, GOV_LABELS, publish, snapshot } from './support';

const MODEL = 'universal/gov_policy';

const APPROVE = `mutation($m: ID!, $v: String!, $n: String) { approveVersion(model: $m, version: $v, note: $n) { status by note publishedBy generation history { action status by } } }`;
const REJECT = `mutation($m: ID!, $v: String!, $n: String) { rejectVersion(model: $m, version: $v, note: $n) { status by } }`;
const POLICY = `mutation($m: ID!, $p: PromotionPolicyInput!, $r: String) { setPromotionPolicy(model: $m, policy: $p, reason: $r) { generation by rules { requireApproval minShadowRows minShadowAgreement minRealizedPredictions minRealizedAccuracy maxFeatureChanges } } }`;
const PROMOTE = `mutation($m: ID!, $v: String!, $s: Stage, $r: String, $o: Boolean) { promote(model: $m, version: $v, stage: $s, reason: $r, override: $o) { toVersion by override violations { rule required actual } approval generation } }`;
const ROLLBACK = `mutation($m: ID!, $to: String, $r: String) { rollback(model: $m, to: $to, reason: $r) { toVersion by } }`;

describe('approvals and promotion policies, enforced by the server', () => {
  let stack: TestStack;
  let admin: string;
  let writer: string;
  let reviewer: string;

  beforeAll(async () => {
    stack = await startTestStack({ env: { SHADOW_FLUSH_SECONDS: '0' } });
    admin = stack.server.writeToken;
    writer = stack.server.principals.add('writer', ['models:write']);
    reviewer = stack.server.principals.add('reviewer', ['models:approve']);
    // The admin (every scope) publishes; v1 goes to production without a policy.
    await publish(stack, admin, MODEL, 'v1', { seed: 1, accuracy: 0.61 });
    const first = await stack.gql(PROMOTE, { m: MODEL, v: 'v1' }, { token: writer });
    expect(first.errors).toBeUndefined();
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('a registered version starts PENDING, published by the authenticated principal', async () => {
    // Act
    await publish(stack, writer, MODEL, 'v2', { seed: 2, accuracy: 0.64 });
    const res = await stack.gql(
      `{ model(id: "${MODEL}") { version(version: "v2") { approval { status by publishedBy generation history { action by } } lineage { publishedBy } } } }`,
    );
    // Assess
    expect(res.data!.model.version).toEqual({
      approval: {
        status: 'PENDING',
        by: null,
        publishedBy: 'writer',
        generation: 1,
        history: [{ action: 'REGISTER', by: 'writer' }],
      },
      lineage: { publishedBy: 'writer' },
    });
  });

  it('four eyes: the publisher may not approve its own version, nor may a principal without models:approve', async () => {
    // Prepare: admin holds models:approve but published v3.
    await publish(stack, admin, MODEL, 'v3', { seed: 3 });
    const before = await snapshot(stack, [`${MODEL}/approvals/`]);
    // Act
    const own = await stack.gql(APPROVE, { m: MODEL, v: 'v3' }, { token: admin });
    const noScope = await stack.gql(APPROVE, { m: MODEL, v: 'v3' }, { token: writer });
    const anonymous = await stack.gql(APPROVE, { m: MODEL, v: 'v3' });
    // Assess
    expect(codes(own)).toEqual(['FORBIDDEN']);
    expect(own.errors![0].extensions).toMatchObject({ rule: 'FOUR_EYES', publishedBy: 'admin' });
    expect(own.errors![0].message).toMatch(/Four eyes: admin published/);
    expect(codes(noScope)).toEqual(['FORBIDDEN']);
    expect(noScope.errors![0].extensions).toMatchObject({ requiredScope: 'models:approve' });
    expect(codes(anonymous)).toEqual(['UNAUTHENTICATED']);
    expect(await snapshot(stack, [`${MODEL}/approvals/`])).toEqual(before);

    const ok = await stack.gql(APPROVE, { m: MODEL, v: 'v3', n: 'looked at the backtest' }, { token: reviewer });
    expect(ok.errors).toBeUndefined();
    expect(ok.data!.approveVersion).toEqual({
      status: 'APPROVED',
      by: 'reviewer',
      note: 'looked at the backtest',
      publishedBy: 'admin',
      generation: 2,
      history: [
        { action: 'REGISTER', status: 'PENDING', by: 'admin' },
        { action: 'APPROVE', status: 'APPROVED', by: 'reviewer' },
      ],
    });
    const again = await stack.gql(APPROVE, { m: MODEL, v: 'v3' }, { token: reviewer });
    expect(codes(again)).toEqual(['BAD_USER_INPUT']);
  });

  it('requireApproval: an unapproved version is refused with POLICY_VIOLATION and the bucket is unchanged; once approved it goes through', async () => {
    // Prepare
    const set = await stack.gql(
      POLICY,
      { m: MODEL, p: { requireApproval: true }, r: 'desk rule' },
      { token: reviewer },
    );
    expect(set.errors).toBeUndefined();
    expect(set.data!.setPromotionPolicy).toMatchObject({
      generation: 1,
      by: 'reviewer',
      rules: { requireApproval: true, minShadowRows: null },
    });
    const watched = [`${MODEL}/`, 'metadata/model_registry.json', 'metadata/deployment_history.json'];
    const before = await snapshot(stack, watched);
    // Act: v2 is PENDING
    const refused = await stack.gql(PROMOTE, { m: MODEL, v: 'v2', r: 'try' }, { token: writer });
    // Assess
    expect(codes(refused)).toEqual(['POLICY_VIOLATION']);
    expect(refused.errors![0].extensions!.violations).toEqual([
      { rule: 'requireApproval', required: 'APPROVED', actual: 'PENDING' },
    ]);
    expect(await snapshot(stack, watched)).toEqual(before);

    // Act: v3 is APPROVED
    const ok = await stack.gql(PROMOTE, { m: MODEL, v: 'v3', r: 'approved' }, { token: writer });
    expect(ok.errors).toBeUndefined();
    expect(ok.data!.promote).toMatchObject({
      toVersion: 'v3',
      by: 'writer',
      override: false,
      violations: [],
      approval: 'APPROVED',
    });
    // The policy does not govern staging.
    const staging = await stack.gql(PROMOTE, { m: MODEL, v: 'v2', s: 'STAGING' }, { token: writer });
    expect(staging.errors).toBeUndefined();
  });

  it('an override needs models:approve and a reason, and is recorded with the rules it broke', async () => {
    const noScope = await stack.gql(PROMOTE, { m: MODEL, v: 'v2', r: 'urgent', o: true }, { token: writer });
    expect(codes(noScope)).toEqual(['FORBIDDEN']);
    const noReason = await stack.gql(PROMOTE, { m: MODEL, v: 'v2', o: true }, { token: admin });
    expect(codes(noReason)).toEqual(['BAD_USER_INPUT']);
    // Act
    const res = await stack.gql(
      PROMOTE,
      { m: MODEL, v: 'v2', r: 'desk head signed off by phone', o: true },
      { token: admin },
    );
    // Assess
    expect(res.errors).toBeUndefined();
    expect(res.data!.promote).toMatchObject({
      toVersion: 'v2',
      by: 'admin',
      override: true,
      approval: 'PENDING',
      violations: [{ rule: 'requireApproval', required: 'APPROVED', actual: 'PENDING' }],
    });
    const history = await stack.gql(
      `{ model(id: "${MODEL}") { history(first: 1) { toVersion override reason violations { rule } } } }`,
    );
    expect(history.data!.model.history[0]).toEqual({
      toVersion: 'v2',
      override: true,
      reason: 'desk head signed off by phone',
      violations: [{ rule: 'requireApproval' }],
    });
  });

  it('a rollback under policy still works; a rollback to a REJECTED version is refused', async () => {
    // Prepare: production is v2 (PENDING, by override); v1 was never approved.
    // Act: back to v3 (the version before) — the policy never blocks a rollback.
    const back = await stack.gql(ROLLBACK, { m: MODEL, r: 'slippage' }, { token: writer });
    expect(back.errors).toBeUndefined();
    expect(back.data!.rollback).toEqual({ toVersion: 'v3', by: 'writer' });
    // v1 is not approved and the policy requires approval: a rollback to it still works.
    const toV1 = await stack.gql(ROLLBACK, { m: MODEL, to: 'v1', r: 'emergency' }, { token: writer });
    expect(toV1.errors).toBeUndefined();
    // A rejected version is never rolled back to.
    const rejected = await stack.gql(REJECT, { m: MODEL, v: 'v2', n: 'overfit' }, { token: reviewer });
    expect(rejected.data!.rejectVersion).toEqual({ status: 'REJECTED', by: 'reviewer' });
    const before = await snapshot(stack, [`${MODEL}/production/`]);
    const refused = await stack.gql(ROLLBACK, { m: MODEL, to: 'v2', r: 'no' }, { token: writer });
    expect(codes(refused)).toEqual(['FORBIDDEN']);
    expect(refused.errors![0].extensions).toMatchObject({ rule: 'REJECTED_VERSION' });
    expect(await snapshot(stack, [`${MODEL}/production/`])).toEqual(before);
    // Nor promoted to production without an override, whatever the policy.
    const promoteRejected = await stack.gql(PROMOTE, { m: MODEL, v: 'v2', r: 'x' }, { token: writer });
    expect(codes(promoteRejected)).toEqual(['POLICY_VIOLATION']);
    expect(promoteRejected.errors![0].extensions!.violations).toContainEqual({
      rule: 'notRejected',
      required: 'not REJECTED',
      actual: 'REJECTED',
    });
  });

  it('shadow agreement and realised accuracy rules use counts from real shadow traffic and recordOutcomes', async () => {
    // Prepare: a new model, v1 in production, candidate v2 in staging, shadow on.
    const model = 'universal/gov_evidence';
    await publish(stack, admin, model, 'v1', { seed: 11 });
    await publish(stack, admin, model, 'v2', { seed: 12 });
    for (const [v, s] of [
      ['v1', 'PRODUCTION'],
      ['v2', 'STAGING'],
    ] as const) {
      expect((await stack.gql(PROMOTE, { m: model, v, s }, { token: writer })).errors).toBeUndefined();
    }
    const traffic = await stack.gql(
      `mutation { configureTraffic(model: "${model}", shadow: true, reason: "evidence") { generation } }`,
      {},
      { token: writer },
    );
    expect(traffic.errors).toBeUndefined();
    // Real predictions through the model: each production row also runs v2.
    const rows = Array.from({ length: 40 }, (_, i) => ({
      ticker: 'SPY',
      model,
      features: featuresFor(GOV_FEATURES, i),
    }));
    const res = await stack.gql(
      `query($r: [PredictionRequest!]!) { predictMany(requests: $r) { version strategy shadow { version strategy agrees } } }`,
      { r: rows },
    );
    expect(res.errors).toBeUndefined();
    const answers = res.data!.predictMany as Array<{
      version: string;
      strategy: string;
      shadow: { version: string; strategy: string; agrees: boolean };
    }>;
    expect(answers.every((a) => a.version === 'v1' && a.shadow?.version === 'v2')).toBe(true);
    const agreements = answers.filter((a) => a.shadow.strategy === a.strategy).length;
    const rate = agreements / answers.length;

    // Realised outcomes for v2 from its shadow answers: the first 30 rows scored, 20 of them right.
    const outcomes = answers.slice(0, 30).map((a, i) => ({
      ticker: 'SPY',
      model,
      version: 'v2',
      predicted: a.shadow.strategy,
      realized: i < 20 ? a.shadow.strategy : GOV_LABELS.find((l) => l !== a.shadow.strategy)!,
    }));
    const recorded = await stack.gql(
      `mutation($o: [OutcomeInput!]!) { recordOutcomes(batchId: "gov-evidence-1", outcomes: $o) { duplicate } }`,
      { o: outcomes },
      { token: writer },
    );
    expect(recorded.errors).toBeUndefined();

    // A policy the evidence misses on every rule.
    const strict = {
      minShadowRows: 41,
      minShadowAgreement: Math.min(1, rate + 0.01),
      minRealizedPredictions: 31,
      minRealizedAccuracy: 0.7,
    };
    expect((await stack.gql(POLICY, { m: model, p: strict }, { token: reviewer })).errors).toBeUndefined();
    const refused = await stack.gql(PROMOTE, { m: model, v: 'v2', r: 'ready?' }, { token: writer });
    expect(codes(refused)).toEqual(['POLICY_VIOLATION']);
    const pct = (x: number) => `${(x * 100).toFixed(2)}%`;
    expect(refused.errors![0].extensions!.violations).toEqual([
      { rule: 'minShadowRows', required: '>= 41', actual: '40' },
      {
        rule: 'minShadowAgreement',
        required: `>= ${pct(strict.minShadowAgreement)}`,
        actual: `${pct(rate)} of 40 rows`,
      },
      { rule: 'minRealizedPredictions', required: '>= 31', actual: '30' },
      { rule: 'minRealizedAccuracy', required: '>= 70.00%', actual: `${pct(20 / 30)} of 30 predictions` },
    ]);

    // A policy the same evidence meets.
    const met = {
      minShadowRows: 40,
      minShadowAgreement: rate,
      minRealizedPredictions: 30,
      minRealizedAccuracy: 0.65,
      requireApproval: false,
    };
    expect((await stack.gql(POLICY, { m: model, p: met }, { token: reviewer })).errors).toBeUndefined();
    const ok = await stack.gql(PROMOTE, { m: model, v: 'v2', r: 'evidence met' }, { token: writer });
    expect(ok.errors).toBeUndefined();
    expect(ok.data!.promote).toMatchObject({ toVersion: 'v2', override: false });
  });

  it('maxFeatureChanges counts features added, removed and reordered against production', async () => {
    const model = 'universal/gov_features';
    await publish(stack, admin, model, 'v1', { seed: 21 });
    // v2: drops "vix", adds "gamma", swaps iv_rank and rsi_14: 1 + 1 + 2 changes.
    await publish(stack, admin, model, 'v2', {
      seed: 22,
      featureNames: ['rsi_14', 'iv_rank', 'skew', 'term_slope', 'gamma'],
    });
    expect((await stack.gql(PROMOTE, { m: model, v: 'v1' }, { token: writer })).errors).toBeUndefined();
    expect(
      (await stack.gql(POLICY, { m: model, p: { maxFeatureChanges: 3 } }, { token: reviewer })).errors,
    ).toBeUndefined();
    const refused = await stack.gql(PROMOTE, { m: model, v: 'v2' }, { token: writer });
    expect(refused.errors![0].extensions!.violations).toEqual([
      { rule: 'maxFeatureChanges', required: '<= 3', actual: '4' },
    ]);
    expect(
      (await stack.gql(POLICY, { m: model, p: { maxFeatureChanges: 4 } }, { token: reviewer })).errors,
    ).toBeUndefined();
    expect((await stack.gql(PROMOTE, { m: model, v: 'v2' }, { token: writer })).errors).toBeUndefined();
    const policy = await stack.gql(
      `{ model(id: "${model}") { policy { generation rules { maxFeatureChanges } history { generation by rules { maxFeatureChanges } } } } }`,
    );
    expect(policy.data!.model.policy).toEqual({
      generation: 2,
      rules: { maxFeatureChanges: 4 },
      history: [
        { generation: 1, by: 'reviewer', rules: { maxFeatureChanges: 3 } },
        { generation: 2, by: 'reviewer', rules: { maxFeatureChanges: 4 } },
      ],
    });
  });
});

describe('expectedGeneration: a move applies only to the state its caller saw', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack();
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('promote, rollback, configureTraffic and setAlias with a stale generation are CONFLICT and change nothing', async () => {
    // Prepare: SPY's production pointer as a console read it.
    const read = await stack.gql(`{ model(id: "etfs/SPY") { generation staging: generation(stage: STAGING) } }`);
    const seen = read.data!.model.generation as number;
    expect(seen).toBeGreaterThan(0);
    // Someone else moves production meanwhile.
    const other = await stack.gql(
      `mutation { rollback(model: "etfs/SPY", reason: "someone else") { generation } }`,
      {},
      { token: stack.server.writeToken },
    );
    expect(other.data!.rollback.generation).toBe(seen + 1);
    const before = await snapshot(stack, ['etfs/SPY/']);
    // Act
    const stale = [
      await stack.gql(
        `mutation($g: Int) { promote(model: "etfs/SPY", version: "v1.1.0", expectedGeneration: $g) { generation } }`,
        { g: seen },
        { token: stack.server.writeToken },
      ),
      await stack.gql(
        `mutation($g: Int) { rollback(model: "etfs/SPY", expectedGeneration: $g) { generation } }`,
        { g: seen },
        { token: stack.server.writeToken },
      ),
      await stack.gql(
        `mutation($g: Int) { configureTraffic(model: "etfs/SPY", shadow: true, expectedGeneration: $g) { generation } }`,
        { g: seen },
        { token: stack.server.writeToken },
      ),
      await stack.gql(
        `mutation { setAlias(model: "etfs/SPY", alias: "paper", version: "v1.0.0", expectedGeneration: 3) { generation } }`,
        {},
        { token: stack.server.writeToken },
      ),
    ];
    // Assess
    for (const res of stale) expect(codes(res)).toEqual(['CONFLICT']);
    expect(stale[0].errors![0].extensions).toMatchObject({ generation: seen + 1, expectedGeneration: seen });
    expect(await snapshot(stack, ['etfs/SPY/'])).toEqual(before);
    // With the current generation the move goes through; a negative one is BAD_USER_INPUT.
    const ok = await stack.gql(
      `mutation($g: Int) { promote(model: "etfs/SPY", version: "v1.1.0", expectedGeneration: $g) { generation } }`,
      { g: seen + 1 },
      { token: stack.server.writeToken },
    );
    expect(ok.data!.promote.generation).toBe(seen + 2);
    const alias = await stack.gql(
      `mutation { setAlias(model: "etfs/SPY", alias: "paper", version: "v1.0.0", expectedGeneration: 0) { generation } }`,
      {},
      { token: stack.server.writeToken },
    );
    expect(alias.data!.setAlias.generation).toBe(1);
    const negative = await stack.gql(
      `mutation { rollback(model: "etfs/SPY", expectedGeneration: -1) { generation } }`,
      {},
      { token: stack.server.writeToken },
    );
    expect(codes(negative)).toEqual(['BAD_USER_INPUT']);
  });
});
