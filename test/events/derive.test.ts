/**
 * The pure part of events: which keys are documents of record, and which
 * events a document holds beyond a watermark — with literal documents, as
 * the bucket stores them.
 */
import { describe, expect, it } from 'vitest';
import {
  archivesNeeded,
  eventsOfDocument,
  parseRecordDocument,
  recordDocumentOf,
  type RecordDocument,
} from '../../src/events/derive';
import { mergeWatermarks, newerEntry } from '../../src/events/watermark';
import { signature, verifySignature } from '../../src/events/targets';

const derive = (key: string, doc: unknown, after: number, archived: any[] = []) =>
  eventsOfDocument(parseRecordDocument(recordDocumentOf(key)!, doc, key), after, archived);

const metadata = {
  version: 'v2',
  strategies: ['A', 'B'],
  accuracy: 0.7,
  artifacts: {},
};

function deployment(generation: number, action: string, from: string | null, to: string, extra: object = {}) {
  return {
    id: `dep-${generation}`,
    model: 'etfs/SPY',
    stage: 'PRODUCTION',
    action,
    from,
    to,
    by: `alice-${generation}`,
    at: `2026-12-01T10:00:0${generation}.000Z`,
    reason: generation === 2 ? null : `reason ${generation}`,
    generation,
    ...extra,
  };
}

const pointer = {
  ...metadata,
  stage: 'PRODUCTION',
  source: 'etfs/SPY/archive/v2/',
  generation: 4,
  promoted_at: '2026-12-01T10:00:04.000Z',
  promoted_by: 'alice-4',
  history: [
    deployment(1, 'PROMOTE', null, 'v1'),
    deployment(2, 'PROMOTE', 'v1', 'v2', {
      override: true,
      violations: [{ rule: 'requireApproval', required: 'APPROVED', actual: 'PENDING' }],
    }),
    deployment(3, 'TRAFFIC', 'v2', 'v2', { traffic: { shadow: true, canary_percent: 10 } }),
    deployment(4, 'ROLLBACK', 'v2', 'v1'),
  ],
};

describe('recordDocumentOf', () => {
  it('names stage pointers, approval, alias and policy documents — and nothing else', () => {
    const cases: Array<[string, RecordDocument | undefined]> = [
      ['etfs/SPY/production/metadata.json', { kind: 'stage', model: 'etfs/SPY', stage: 'PRODUCTION' }],
      ['stocks/universal/staging/metadata.json', { kind: 'stage', model: 'stocks/universal', stage: 'STAGING' }],
      ['etfs/SPY/approvals/v1.2.0.json', { kind: 'approval', model: 'etfs/SPY', version: 'v1.2.0' }],
      [
        'universal/risk_scorer/aliases/champion.json',
        { kind: 'alias', model: 'universal/risk_scorer', alias: 'champion' },
      ],
      ['ensembles/blend/policy.json', { kind: 'policy', model: 'ensembles/blend' }],
      // Not documents of record:
      ['etfs/SPY/archive/v1/metadata.json', undefined],
      ['etfs/SPY/archive/production/metadata.json', undefined], // a version named "production"
      ['etfs/SPY/production/history/00000001-00000100.json', undefined],
      ['etfs/SPY/production/model.onnx', undefined],
      ['etfs/SPY/tags/v1.json', undefined],
      ['metadata/model_registry.json', undefined],
      ['metadata/events/watermark.json', undefined],
      ['shared/production/metadata.json', undefined],
      ['etfs/spy/production/metadata.json', undefined], // not a model id (tickers are upper case)
      ['etfs/SPY/approvals/sub/v1.json', undefined],
    ];
    for (const [key, expected] of cases) expect(recordDocumentOf(key), key).toEqual(expected);
  });
});

describe('events of a stage pointer', () => {
  it('every deployment above the watermark, oldest first, with its generation, by, from/to and reason', () => {
    const events = derive('etfs/SPY/production/metadata.json', pointer, 1);
    expect(events).toEqual([
      {
        id: 'dep-2',
        type: 'PROMOTED',
        model: 'etfs/SPY',
        version: 'v2',
        target: 'production',
        from: 'v1',
        to: 'v2',
        generation: 2,
        by: 'alice-2',
        reason: null,
        at: '2026-12-01T10:00:02.000Z',
        override: true, // promoted despite the policy
      },
      {
        id: 'dep-3',
        type: 'TRAFFIC_CHANGED',
        model: 'etfs/SPY',
        version: 'v2',
        target: 'production',
        from: 'v2',
        to: 'v2',
        generation: 3,
        by: 'alice-3',
        reason: 'reason 3',
        at: '2026-12-01T10:00:03.000Z',
        traffic: { shadow: true, canaryPercent: 10 },
      },
      {
        id: 'dep-4',
        type: 'ROLLED_BACK',
        model: 'etfs/SPY',
        version: 'v1',
        target: 'production',
        from: 'v2',
        to: 'v1',
        generation: 4,
        by: 'alice-4',
        reason: 'reason 4',
        at: '2026-12-01T10:00:04.000Z',
      },
    ]);
  });

  it('nothing at or below the watermark; everything from an empty one; staging is "staging"', () => {
    expect(derive('etfs/SPY/production/metadata.json', pointer, 4)).toEqual([]);
    expect(derive('etfs/SPY/production/metadata.json', pointer, 0).map((e) => e.generation)).toEqual([1, 2, 3, 4]);
    const staging = {
      ...pointer,
      stage: 'STAGING',
      history: pointer.history.slice(0, 1).map((r) => ({ ...r, stage: 'STAGING' })),
    };
    expect(derive('etfs/SPY/staging/metadata.json', staging, 0)[0]).toMatchObject({
      target: 'staging',
      type: 'PROMOTED',
    });
  });

  it('reads archived chunks only when the watermark is older than the inline history, and merges their records', () => {
    const archivedPointer = {
      ...pointer,
      history: pointer.history.slice(2),
      history_archives: [
        'etfs/SPY/production/history/00000001-00000001.json',
        'etfs/SPY/production/history/00000002-00000002.json',
      ],
    };
    const parsed = parseRecordDocument(
      recordDocumentOf('etfs/SPY/production/metadata.json')!,
      archivedPointer,
      'etfs/SPY/production/metadata.json',
    );
    if (parsed.kind !== 'stage') throw new Error('not a stage');
    expect(archivesNeeded(parsed.pointer, 2)).toEqual([]);
    expect(archivesNeeded(parsed.pointer, 1)).toEqual(['etfs/SPY/production/history/00000002-00000002.json']);
    expect(archivesNeeded(parsed.pointer, 0)).toEqual(archivedPointer.history_archives);
    const chunk = [pointer.history[1]]; // generation 2
    expect(eventsOfDocument(parsed, 1, chunk as any).map((e) => e.id)).toEqual(['dep-2', 'dep-3', 'dep-4']);
  });

  it('refuses a malformed document with a message naming the key', () => {
    expect(() =>
      parseRecordDocument(
        recordDocumentOf('etfs/SPY/production/metadata.json')!,
        { ...pointer, history: 'nope' },
        'etfs/SPY/production/metadata.json',
      ),
    ).toThrow(/etfs\/SPY\/production\/metadata.json is malformed: history/);
  });
});

describe('events of governance documents', () => {
  it('approval: REGISTER, APPROVE, REJECT with the status before and after, the note as reason', () => {
    const doc = {
      model: 'etfs/SPY',
      version: 'v3',
      status: 'REJECTED',
      by: 'carol',
      at: '2026-12-01T12:00:00.000Z',
      note: 'slippage',
      published_by: 'alice',
      published_at: '2026-12-01T10:00:00.000Z',
      generation: 3,
      history: [
        {
          id: 'a1',
          action: 'REGISTER',
          status: 'PENDING',
          by: 'alice',
          at: '2026-12-01T10:00:00.000Z',
          note: null,
          generation: 1,
        },
        {
          id: 'a2',
          action: 'APPROVE',
          status: 'APPROVED',
          by: 'bob',
          at: '2026-12-01T11:00:00.000Z',
          note: 'ok',
          generation: 2,
        },
        {
          id: 'a3',
          action: 'REJECT',
          status: 'REJECTED',
          by: 'carol',
          at: '2026-12-01T12:00:00.000Z',
          note: 'slippage',
          generation: 3,
        },
      ],
    };
    const events = derive('etfs/SPY/approvals/v3.json', doc, 0);
    expect(events.map((e) => [e.type, e.from, e.to, e.by, e.reason, e.generation, e.version, e.target])).toEqual([
      ['VERSION_REGISTERED', null, 'PENDING', 'alice', null, 1, 'v3', null],
      ['VERSION_APPROVED', 'PENDING', 'APPROVED', 'bob', 'ok', 2, 'v3', null],
      ['VERSION_REJECTED', 'APPROVED', 'REJECTED', 'carol', 'slippage', 3, 'v3', null],
    ]);
    expect(derive('etfs/SPY/approvals/v3.json', doc, 2).map((e) => e.id)).toEqual(['a3']);
  });

  it('alias: SET and DELETE with target alias:<name>; a delete names the version it removed', () => {
    const record = (generation: number, action: string, from: string | null, to: string | null) => ({
      id: `al-${generation}`,
      model: 'etfs/SPY',
      alias: 'champion',
      action,
      from,
      to,
      by: 'alice',
      at: `2026-12-01T10:00:0${generation}.000Z`,
      reason: `r${generation}`,
      generation,
    });
    const doc = {
      model: 'etfs/SPY',
      alias: 'champion',
      version: null,
      generation: 3,
      history: [record(1, 'SET', null, 'v1'), record(2, 'SET', 'v1', 'v2'), record(3, 'DELETE', 'v2', null)],
    };
    const events = derive('etfs/SPY/aliases/champion.json', doc, 0);
    expect(events.map((e) => [e.type, e.target, e.version, e.from, e.to, e.reason])).toEqual([
      ['ALIAS_SET', 'alias:champion', 'v1', null, 'v1', 'r1'],
      ['ALIAS_SET', 'alias:champion', 'v2', 'v1', 'v2', 'r2'],
      ['ALIAS_DELETED', 'alias:champion', 'v2', 'v2', null, 'r3'],
    ]);
  });

  it('policy: POLICY_CHANGED with the policy after the change', () => {
    const policy = { requireApproval: true, minShadowRows: 100, minShadowAgreement: 0.9 };
    const doc = {
      model: 'etfs/SPY',
      policy,
      generation: 1,
      history: [
        {
          id: 'p1',
          model: 'etfs/SPY',
          action: 'SET_POLICY',
          policy,
          by: 'dana',
          at: '2026-12-01T10:00:00.000Z',
          reason: 'desk rule',
          generation: 1,
        },
      ],
    };
    expect(derive('etfs/SPY/policy.json', doc, 0)).toEqual([
      {
        id: 'p1',
        type: 'POLICY_CHANGED',
        model: 'etfs/SPY',
        version: null,
        target: null,
        from: null,
        to: null,
        generation: 1,
        by: 'dana',
        reason: 'desk rule',
        at: '2026-12-01T10:00:00.000Z',
        policy,
      },
    ]);
  });
});

describe('watermark merge', () => {
  it('is monotonic: a generation never goes down; on a tie the entry that knows the ETag wins', () => {
    expect(newerEntry({ generation: 3, etag: null }, { generation: 2, etag: '"e2"' })).toEqual({
      generation: 3,
      etag: null,
    });
    expect(newerEntry({ generation: 3, etag: null }, { generation: 3, etag: '"e3"' })).toEqual({
      generation: 3,
      etag: '"e3"',
    });
    const base = { a: { generation: 5, etag: '"a5"' }, b: { generation: 1, etag: null } };
    expect(mergeWatermarks(base, { a: { generation: 4, etag: '"a4"' } })).toBeNull();
    expect(mergeWatermarks(base, { a: { generation: 5, etag: '"a5"' } })).toBeNull();
    expect(mergeWatermarks(base, { b: { generation: 2, etag: '"b2"' }, c: { generation: 1, etag: null } })).toEqual({
      a: { generation: 5, etag: '"a5"' },
      b: { generation: 2, etag: '"b2"' },
      c: { generation: 1, etag: null },
    });
  });
});

describe('webhook signature', () => {
  it('is sha256=<hex HMAC-SHA256 of the raw body>, and a receiver refuses any other body or secret', () => {
    const body = JSON.stringify({ id: 'x', type: 'PROMOTED' });
    const sig = signature('secret-0123456789abcdef', body);
    expect(sig).toMatch(/^sha256=[0-9a-f]{64}$/);
    expect(verifySignature('secret-0123456789abcdef', body, sig)).toBe(true);
    expect(verifySignature('secret-0123456789abcdef', body + ' ', sig)).toBe(false);
    expect(verifySignature('other-secret-0123456789', body, sig)).toBe(false);
    expect(verifySignature('secret-0123456789abcdef', body, undefined)).toBe(false);
  });
});
