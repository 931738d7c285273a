import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { featuresFor, startTestStack, type TestStack } from '../support/stack';
import { codes, GOV_FEATURES, GOV_LABELS, publish, snapshot } from './support';

const SET_ALIAS = `mutation($m: ID!, $a: String!, $v: String!, $r: String) { setAlias(model: $m, alias: $a, version: $v, reason: $r) { alias action fromVersion toVersion by generation reason } }`;
const DELETE_ALIAS = `mutation($m: ID!, $a: String!, $r: String) { deleteAlias(model: $m, alias: $a, reason: $r) { action fromVersion toVersion generation } }`;
const TAGS = `mutation($m: ID!, $v: String!, $t: JSONObject!, $d: String) { setVersionTags(model: $m, version: $v, tags: $t, description: $d) { version tags description } }`;

describe('aliases, tags, lineage, search and compare', () => {
  let stack: TestStack;
  let writer: string;
  let reviewer: string;
  const A = 'universal/gov_search_a';
  const B = 'universal/gov_search_b';

  beforeAll(async () => {
    stack = await startTestStack({ env: { SHADOW_FLUSH_SECONDS: '0' } });
    writer = stack.server.principals.add('writer', ['models:write']);
    reviewer = stack.server.principals.add('reviewer', ['models:approve']);
    // Two models, six versions with known accuracy, creation time and training samples.
    await publish(stack, writer, A, 'v1', {
      seed: 31,
      accuracy: 0.62,
      created: '2026-10-01T00:00:00Z',
      trainingSamples: 1000,
    });
    await publish(stack, writer, A, 'v2', {
      seed: 32,
      accuracy: 0.71,
      created: '2026-10-15T00:00:00Z',
      trainingSamples: 1500,
    });
    await publish(stack, writer, A, 'v10', {
      seed: 33,
      accuracy: 0.68,
      created: '2026-11-01T00:00:00Z',
      trainingSamples: 1200,
      featureNames: ['rsi_14', 'iv_rank', 'skew', 'term_slope', 'gamma'],
      labels: ['IRON_CONDOR', 'BULL_CALL_SPREAD', 'BEAR_PUT_SPREAD', 'STRADDLE'],
    });
    await publish(stack, writer, B, 'v1', { seed: 41, accuracy: 0.75, created: '2026-09-01T00:00:00Z' });
    await publish(stack, writer, B, 'v2', { seed: 42, accuracy: 0.59, created: '2026-11-20T00:00:00Z' });
    await publish(stack, writer, B, 'v3', { seed: 43, created: '2026-11-25T00:00:00Z' });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('setAlias / deleteAlias: compare-and-swap pointers with an exact history; predict(alias:) serves the alias version', async () => {
    for (const [v, s] of [
      ['v1', 'PRODUCTION'],
      ['v2', 'STAGING'],
    ]) {
      const res = await stack.gql(
        `mutation { promote(model: "${A}", version: "${v}", stage: ${s}) { toVersion } }`,
        {},
        { token: writer },
      );
      expect(res.errors).toBeUndefined();
    }
    // Act
    const first = await stack.gql(SET_ALIAS, { m: A, a: 'champion', v: 'v2', r: 'paper winner' }, { token: writer });
    const second = await stack.gql(SET_ALIAS, { m: A, a: 'champion', v: 'v10' }, { token: writer });
    // Assess
    expect(first.data!.setAlias).toEqual({
      alias: 'champion',
      action: 'SET',
      fromVersion: null,
      toVersion: 'v2',
      by: 'writer',
      generation: 1,
      reason: 'paper winner',
    });
    expect(second.data!.setAlias).toMatchObject({ fromVersion: 'v2', toVersion: 'v10', generation: 2 });
    const features = featuresFor(GOV_FEATURES, 3);
    const v10Features = featuresFor(['rsi_14', 'iv_rank', 'skew', 'term_slope', 'gamma'], 3);
    const served = await stack.gql(
      `query($f: JSONObject!, $g: JSONObject!) {
        viaAlias: predict(ticker: "SPY", model: "${A}", alias: "champion", features: $g) { version stage alias }
        viaStage: predict(ticker: "SPY", model: "${A}", features: $f) { version stage alias }
      }`,
      { f: features, g: v10Features },
    );
    expect(served.errors).toBeUndefined();
    expect(served.data).toEqual({
      viaAlias: { version: 'v10', stage: null, alias: 'champion' },
      viaStage: { version: 'v1', stage: 'PRODUCTION', alias: null },
    });
    const many = await stack.gql(`query($r: [PredictionRequest!]!) { predictMany(requests: $r) { version alias } }`, {
      r: [
        { ticker: 'SPY', model: A, features },
        { ticker: 'SPY', model: A, alias: 'champion', features: v10Features },
      ],
    });
    expect(many.data!.predictMany).toEqual([
      { version: 'v1', alias: null },
      { version: 'v10', alias: 'champion' },
    ]);

    const deleted = await stack.gql(DELETE_ALIAS, { m: A, a: 'champion', r: 'retired' }, { token: writer });
    expect(deleted.data!.deleteAlias).toEqual({ action: 'DELETE', fromVersion: 'v10', toVersion: null, generation: 3 });
    const gone = await stack.gql(
      `query($g: JSONObject!) { predict(ticker: "SPY", model: "${A}", alias: "champion", features: $g) { version } }`,
      { g: v10Features },
    );
    expect(codes(gone)).toEqual(['MODEL_NOT_DEPLOYED']);
    const listed = await stack.gql(
      `{ model(id: "${A}") { live: aliases { name } all: aliases(includeDeleted: true) { name version { version } generation history { action toVersion by } } } }`,
    );
    expect(listed.data!.model).toEqual({
      live: [],
      all: [
        {
          name: 'champion',
          version: null,
          generation: 3,
          history: [
            { action: 'DELETE', toVersion: null, by: 'writer' },
            { action: 'SET', toVersion: 'v10', by: 'writer' },
            { action: 'SET', toVersion: 'v2', by: 'writer' },
          ],
        },
      ],
    });
  });

  it('alias names are checked before they become keys; production and staging are reserved; aliases need models:write', async () => {
    const before = await snapshot(stack, [`${A}/`]);
    for (const bad of ['production', 'staging', '../x', 'Champion', 'a/b', '', 'x'.repeat(64), 'ch\u0000mp']) {
      const res = await stack.gql(SET_ALIAS, { m: A, a: bad, v: 'v1' }, { token: writer });
      expect(codes(res), bad).toEqual(['BAD_USER_INPUT']);
    }
    expect(codes(await stack.gql(SET_ALIAS, { m: A, a: 'paper', v: 'v1' }, { token: reviewer }))).toEqual([
      'FORBIDDEN',
    ]);
    expect(codes(await stack.gql(SET_ALIAS, { m: A, a: 'paper', v: 'v9' }, { token: writer }))).toEqual([
      'VERSION_NOT_FOUND',
    ]);
    expect(codes(await stack.gql(DELETE_ALIAS, { m: A, a: 'never-set' }, { token: writer }))).toEqual([
      'BAD_USER_INPUT',
    ]);
    expect(await snapshot(stack, [`${A}/`])).toEqual(before);
  });

  it('tags and description live outside the immutable folder; lineage and metadata read back', async () => {
    const folderBefore = await snapshot(stack, [`${B}/archive/v1/`]);
    const res = await stack.gql(
      TAGS,
      { m: B, v: 'v1', t: { team: 'vol', dataset: '2026-q3', shadow_ok: true, run: 42 }, d: 'first cut' },
      { token: writer },
    );
    expect(res.errors).toBeUndefined();
    expect(res.data!.setVersionTags).toEqual({
      version: 'v1',
      tags: { team: 'vol', dataset: '2026-q3', shadow_ok: 'true', run: '42' },
      description: 'first cut',
    });
    await stack.gql(TAGS, { m: B, v: 'v2', t: { team: 'vol' } }, { token: writer });
    await stack.gql(TAGS, { m: B, v: 'v3', t: { team: 'rates' } }, { token: writer });
    await stack.gql(TAGS, { m: A, v: 'v2', t: { team: 'vol' } }, { token: writer });
    // Replacing keeps the description when none is given.
    const replaced = await stack.gql(
      TAGS,
      { m: B, v: 'v1', t: { team: 'vol', dataset: '2026-q4' } },
      { token: writer },
    );
    expect(replaced.data!.setVersionTags).toEqual({
      version: 'v1',
      tags: { team: 'vol', dataset: '2026-q4' },
      description: 'first cut',
    });
    expect(await snapshot(stack, [`${B}/archive/v1/`])).toEqual(folderBefore);
    for (const bad of [
      { 'bad key': 'x' },
      { k: 'x'.repeat(257) },
      { k: { nested: 1 } },
      Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, 'v'])),
    ]) {
      expect(codes(await stack.gql(TAGS, { m: B, v: 'v1', t: bad }, { token: writer }))).toEqual(['BAD_USER_INPUT']);
    }
    const read = await stack.gql(
      `{ model(id: "${B}") { version(version: "v1") { tags description metadata lineage { publishedBy gitCommit } } } }`,
    );
    const v = read.data!.model.version;
    expect(v.tags).toEqual({ team: 'vol', dataset: '2026-q4' });
    expect(v.lineage).toEqual({ publishedBy: 'writer', gitCommit: null });
    expect(v.metadata).toMatchObject({ version: 'v1', accuracy: 0.75, strategies: GOV_LABELS });
    expect(Object.keys(v.metadata.artifacts).sort()).toEqual(['feature_names.json', 'model.onnx']);
  });

  it('searchVersions filters, orders and pages; Model.versions takes the same arguments', async () => {
    // Approvals: A v2 and B v1 approved, B v2 rejected.
    for (const [m, v, verb] of [
      [A, 'v2', 'approveVersion'],
      [B, 'v1', 'approveVersion'],
      [B, 'v2', 'rejectVersion'],
    ]) {
      const res = await stack.gql(
        `mutation { ${verb}(model: "${m}", version: "${v}") { status } }`,
        {},
        { token: reviewer },
      );
      expect(res.errors).toBeUndefined();
    }
    const search = async (args: string) => {
      const res = await stack.gql(
        `{ searchVersions(${args}) { totalCount pageInfo { hasNextPage endCursor } edges { cursor node { model { id } version } } } }`,
      );
      expect(res.errors).toBeUndefined();
      const s = res.data!.searchVersions;
      return {
        ...s,
        ids: s.edges.map(
          (e: { node: { model: { id: string }; version: string } }) => `${e.node.model.id}@${e.node.version}`,
        ),
      };
    };
    // Accuracy descending over both models (B v3 has none: last). Computed by hand from the published values.
    const byAccuracy = await search(`filter: { tags: { team: "vol" } }, orderBy: { field: ACCURACY, direction: DESC }`);
    expect(byAccuracy.ids).toEqual([`${B}@v1`, `${A}@v2`, `${B}@v2`]);
    const approved = await search(`filter: { approval: APPROVED }, orderBy: { field: CREATED_AT, direction: ASC }`);
    expect(approved.ids).toEqual([`${B}@v1`, `${A}@v2`]);
    const minAcc = await search(
      `filter: { model: "${A}", minAccuracy: 0.65 }, orderBy: { field: ACCURACY, direction: ASC }`,
    );
    expect(minAcc.ids).toEqual([`${A}@v10`, `${A}@v2`]);
    const recent = await search(`filter: { createdAfter: "2026-10-20T00:00:00Z", model: "${B}" }`);
    expect(recent.ids).toEqual([`${B}@v3`, `${B}@v2`]);
    // Paging: 2 at a time through A's versions, newest first.
    const page1 = await search(`filter: { model: "${A}" }, first: 2`);
    expect(page1.ids).toEqual([`${A}@v10`, `${A}@v2`]);
    expect(page1.totalCount).toBe(3);
    expect(page1.pageInfo.hasNextPage).toBe(true);
    const page2 = await search(`filter: { model: "${A}" }, first: 2, after: "${page1.pageInfo.endCursor}"`);
    expect(page2.ids).toEqual([`${A}@v1`]);
    expect(page2.pageInfo.hasNextPage).toBe(false);
    const badCursor = await stack.gql(`{ searchVersions(after: "nope") { totalCount } }`);
    expect(codes(badCursor)).toEqual(['BAD_USER_INPUT']);
    // Realised accuracy: outcomes for A v1 (3/4) and A v10 (1/4).
    const outcomes = [
      ...[0, 1, 2, 3].map((i) => ({
        ticker: 'SPY',
        model: A,
        version: 'v1',
        predicted: 'NO_TRADE',
        realized: i < 3 ? 'NO_TRADE' : 'IRON_CONDOR',
      })),
      ...[0, 1, 2, 3].map((i) => ({
        ticker: 'SPY',
        model: A,
        version: 'v10',
        predicted: 'STRADDLE',
        realized: i < 1 ? 'STRADDLE' : 'IRON_CONDOR',
      })),
    ];
    const rec = await stack.gql(
      `mutation($o: [OutcomeInput!]!) { recordOutcomes(batchId: "search-1", outcomes: $o) { duplicate } }`,
      { o: outcomes },
      { token: writer },
    );
    expect(rec.errors).toBeUndefined();
    const realized = await search(`filter: { model: "${A}" }, orderBy: { field: REALIZED_ACCURACY }`);
    expect(realized.ids).toEqual([`${A}@v1`, `${A}@v10`, `${A}@v2`]);
    const minRealized = await search(`filter: { model: "${A}", minRealizedAccuracy: 0.5 }`);
    expect(minRealized.ids).toEqual([`${A}@v1`]);
    const modelVersions = await stack.gql(
      `{ model(id: "${B}") { versions(orderBy: { field: ACCURACY }, first: 2) { version } all: versions { version } } }`,
    );
    expect(modelVersions.data!.model).toEqual({
      versions: [{ version: 'v1' }, { version: 'v2' }],
      all: [{ version: 'v1' }, { version: 'v2' }, { version: 'v3' }],
    });
  });

  it('compareVersions: features, labels, accuracy, realised accuracy per day, shadow agreement and approvals', async () => {
    // Realised outcomes on two days for v1 and v10 (the earlier test recorded today's).
    const day = (d: string) => `${d}T12:00:00Z`;
    const outcomes = [
      { ticker: 'SPY', model: A, version: 'v1', predicted: 'NO_TRADE', realized: 'NO_TRADE', at: day('2026-11-30') },
      { ticker: 'QQQ', model: A, version: 'v1', predicted: 'NO_TRADE', realized: 'IRON_CONDOR', at: day('2026-11-30') },
      { ticker: 'SPY', model: A, version: 'v10', predicted: 'STRADDLE', realized: 'STRADDLE', at: day('2026-12-01') },
    ];
    const rec = await stack.gql(
      `mutation($o: [OutcomeInput!]!) { recordOutcomes(batchId: "compare-1", outcomes: $o) { duplicate } }`,
      { o: outcomes },
      { token: writer },
    );
    expect(rec.errors).toBeUndefined();
    const res = await stack.gql(`{ compareVersions(model: "${A}", a: "v1", b: "v10") {
      a { version approval { status } } b { version approval { status } }
      featuresAdded featuresRemoved featuresReordered labelsAdded labelsRemoved accuracyDelta trainingSamplesDelta
      realizedDaily { date a { predictions correct } b { predictions correct } }
      shadowAgreement { rows }
    } }`);
    expect(res.errors).toBeUndefined();
    const c = res.data!.compareVersions;
    expect(c).toMatchObject({
      a: { version: 'v1', approval: { status: 'PENDING' } },
      b: { version: 'v10', approval: { status: 'PENDING' } },
      featuresAdded: ['gamma'],
      featuresRemoved: ['vix'],
      featuresReordered: ['rsi_14', 'iv_rank'],
      labelsAdded: ['STRADDLE'],
      labelsRemoved: ['NO_TRADE'],
      trainingSamplesDelta: 200,
      shadowAgreement: null,
    });
    expect(c.accuracyDelta).toBeCloseTo(0.68 - 0.62, 12);
    const today = new Date().toISOString().slice(0, 10);
    expect(c.realizedDaily).toEqual(
      [
        { date: '2026-11-30', a: { predictions: 2, correct: 1 }, b: null },
        { date: '2026-12-01', a: null, b: { predictions: 1, correct: 1 } },
        { date: today, a: { predictions: 4, correct: 3 }, b: { predictions: 4, correct: 1 } },
      ].sort((x, y) => x.date.localeCompare(y.date)),
    );
    // Shadow agreement of a pair that ran side by side: production v1, staging v2 (from the alias test).
    await stack.gql(`mutation { configureTraffic(model: "${A}", shadow: true) { generation } }`, {}, { token: writer });
    const rows = Array.from({ length: 12 }, (_, i) => ({
      ticker: 'SPY',
      model: A,
      features: featuresFor(GOV_FEATURES, 100 + i),
    }));
    const shadowed = await stack.gql(
      `query($r: [PredictionRequest!]!) { predictMany(requests: $r) { strategy shadow { agrees } } }`,
      { r: rows },
    );
    const agrees = (shadowed.data!.predictMany as Array<{ shadow: { agrees: boolean } }>).filter(
      (p) => p.shadow.agrees,
    ).length;
    const pair = await stack.gql(
      `{ compareVersions(model: "${A}", a: "v2", b: "v1") { shadowAgreement { productionVersion stagingVersion rows agreements } } }`,
    );
    expect(pair.data!.compareVersions.shadowAgreement).toEqual({
      productionVersion: 'v1',
      stagingVersion: 'v2',
      rows: 12,
      agreements: agrees,
    });
    expect(codes(await stack.gql(`{ compareVersions(model: "${A}", a: "v1", b: "nope") { accuracyDelta } }`))).toEqual([
      'VERSION_NOT_FOUND',
    ]);
  });
});
