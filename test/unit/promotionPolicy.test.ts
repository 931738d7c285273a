import { describe, expect, it } from 'vitest';
import {
  checkPolicy,
  diffFeatures,
  featureChangeCount,
  type PromotionEvidence,
} from '../../src/registry/promotionPolicy';
import { cursorOf, matchesFilter, orderRows, pageAfter, type VersionRow } from '../../src/registry/versionSearch';

const evidence = (e: Partial<PromotionEvidence> = {}): PromotionEvidence => ({
  approval: 'APPROVED',
  shadowRows: 1000,
  shadowAgreements: 960,
  realizedPredictions: 200,
  realizedCorrect: 120,
  featureChanges: 0,
  ...e,
});

describe('checkPolicy: the promotion rules as a pure function', () => {
  it.each([
    ['no rules', {}, evidence({ approval: 'PENDING', shadowRows: 0 }), []],
    ['requireApproval met', { requireApproval: true }, evidence(), []],
    [
      'requireApproval, PENDING',
      { requireApproval: true },
      evidence({ approval: 'PENDING' }),
      [{ rule: 'requireApproval', required: 'APPROVED', actual: 'PENDING' }],
    ],
    ['requireApproval false is no rule', { requireApproval: false }, evidence({ approval: 'REJECTED' }), []],
    ['minShadowRows on the line', { minShadowRows: 1000 }, evidence(), []],
    [
      'minShadowRows one short',
      { minShadowRows: 1001 },
      evidence(),
      [{ rule: 'minShadowRows', required: '>= 1001', actual: '1000' }],
    ],
    ['minShadowAgreement 96 % of 1000 rows meets 0.96', { minShadowAgreement: 0.96 }, evidence(), []],
    [
      'minShadowAgreement 96 % misses 0.97',
      { minShadowAgreement: 0.97 },
      evidence(),
      [{ rule: 'minShadowAgreement', required: '>= 97.00%', actual: '96.00% of 1000 rows' }],
    ],
    [
      'minShadowAgreement without shadow rows',
      { minShadowAgreement: 0 },
      evidence({ shadowRows: 0, shadowAgreements: 0 }),
      [{ rule: 'minShadowAgreement', required: '>= 0.00%', actual: 'no shadow rows' }],
    ],
    [
      'minRealizedPredictions short',
      { minRealizedPredictions: 201 },
      evidence(),
      [{ rule: 'minRealizedPredictions', required: '>= 201', actual: '200' }],
    ],
    ['minRealizedAccuracy 60 % meets 0.6', { minRealizedAccuracy: 0.6 }, evidence(), []],
    [
      'minRealizedAccuracy 60 % misses 0.61',
      { minRealizedAccuracy: 0.61 },
      evidence(),
      [{ rule: 'minRealizedAccuracy', required: '>= 61.00%', actual: '60.00% of 200 predictions' }],
    ],
    [
      'minRealizedAccuracy without outcomes',
      { minRealizedAccuracy: 0.1 },
      evidence({ realizedPredictions: 0, realizedCorrect: 0 }),
      [{ rule: 'minRealizedAccuracy', required: '>= 10.00%', actual: 'no realised outcomes' }],
    ],
    ['maxFeatureChanges on the line', { maxFeatureChanges: 2 }, evidence({ featureChanges: 2 }), []],
    [
      'maxFeatureChanges over',
      { maxFeatureChanges: 2 },
      evidence({ featureChanges: 3 }),
      [{ rule: 'maxFeatureChanges', required: '<= 2', actual: '3' }],
    ],
  ] as const)('%s', (_case, policy, e, expected) => {
    expect(checkPolicy(policy, e)).toEqual(expected);
  });

  it('lists every broken rule, in a fixed order', () => {
    const all = {
      requireApproval: true,
      minShadowRows: 2000,
      minShadowAgreement: 0.99,
      minRealizedPredictions: 500,
      minRealizedAccuracy: 0.9,
      maxFeatureChanges: 0,
    };
    expect(checkPolicy(all, evidence({ approval: 'REJECTED', featureChanges: 1 })).map((v) => v.rule)).toEqual([
      'requireApproval',
      'minShadowRows',
      'minShadowAgreement',
      'minRealizedPredictions',
      'minRealizedAccuracy',
      'maxFeatureChanges',
    ]);
  });
});

describe('diffFeatures', () => {
  it.each([
    ['same', ['a', 'b', 'c'], ['a', 'b', 'c'], { added: [], removed: [], reordered: [] }, 0],
    ['one added at the end', ['a', 'b'], ['a', 'b', 'c'], { added: ['c'], removed: [], reordered: [] }, 1],
    [
      'one removed keeps the others in place',
      ['a', 'b', 'c'],
      ['a', 'c'],
      { added: [], removed: ['b'], reordered: [] },
      1,
    ],
    ['a swap reorders two', ['a', 'b', 'c'], ['b', 'a', 'c'], { added: [], removed: [], reordered: ['b', 'a'] }, 2],
    [
      'a rotation reorders all three',
      ['a', 'b', 'c'],
      ['c', 'a', 'b'],
      { added: [], removed: [], reordered: ['c', 'a', 'b'] },
      3,
    ],
    ['replace one', ['a', 'b', 'c'], ['a', 'x', 'c'], { added: ['x'], removed: ['b'], reordered: [] }, 2],
  ])('%s', (_case, before, after, expected, count) => {
    const d = diffFeatures(before, after);
    expect(d).toEqual(expected);
    expect(featureChangeCount(d)).toBe(count);
  });
});

describe('version search: filter, order, page', () => {
  const row = (version: string, r: Partial<VersionRow>): VersionRow => ({
    model: 'etfs/SPY',
    version,
    createdAt: null,
    accuracy: null,
    realizedAccuracy: null,
    approval: 'PENDING',
    tags: {},
    ...r,
  });
  const rows = [
    row('v1', { accuracy: 0.6, createdAt: 1, tags: { team: 'vol' } }),
    row('v2', { accuracy: 0.7, createdAt: 3, approval: 'APPROVED' }),
    row('v10', { accuracy: 0.7, createdAt: 2, tags: { team: 'vol', stage: 'x' } }),
    row('v3', { createdAt: null }),
  ];

  it('filters on every field; a row without the value never passes a minimum', () => {
    expect(rows.filter((r) => matchesFilter(r, { tags: { team: 'vol' } })).map((r) => r.version)).toEqual([
      'v1',
      'v10',
    ]);
    expect(rows.filter((r) => matchesFilter(r, { approval: 'APPROVED' })).map((r) => r.version)).toEqual(['v2']);
    expect(rows.filter((r) => matchesFilter(r, { minAccuracy: 0.65 })).map((r) => r.version)).toEqual(['v2', 'v10']);
    expect(rows.filter((r) => matchesFilter(r, { createdAfter: 1 })).map((r) => r.version)).toEqual(['v2', 'v10']);
    expect(rows.filter((r) => matchesFilter(r, { minRealizedAccuracy: 0 })).map((r) => r.version)).toEqual([]);
  });

  it('orders with missing values last in both directions and ties by version name, numerically', () => {
    expect(orderRows(rows, { field: 'ACCURACY', direction: 'DESC' }).map((r) => r.version)).toEqual([
      'v2',
      'v10',
      'v1',
      'v3',
    ]);
    expect(orderRows(rows, { field: 'ACCURACY', direction: 'ASC' }).map((r) => r.version)).toEqual([
      'v1',
      'v2',
      'v10',
      'v3',
    ]);
    expect(orderRows(rows, { field: 'CREATED_AT', direction: 'DESC' }).map((r) => r.version)).toEqual([
      'v2',
      'v10',
      'v1',
      'v3',
    ]);
  });

  it('pages after an opaque cursor; an unknown cursor is BAD_USER_INPUT', () => {
    const first = pageAfter(rows, 2);
    expect(first).toMatchObject({ hasNextPage: true, totalCount: 4 });
    const next = pageAfter(rows, 2, cursorOf(first.items[1]));
    expect(next.items.map((r) => r.version)).toEqual(['v10', 'v3']);
    expect(next.hasNextPage).toBe(false);
    expect(() => pageAfter(rows, 2, 'bm9wZQ')).toThrow(expect.objectContaining({ code: 'BAD_USER_INPUT' }));
  });
});
