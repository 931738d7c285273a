import { describe, expect, it } from 'vitest';
import {
  type FaultedResponse,
  faultedResponse,
  type FaultSpec,
  FaultTable,
  injectedStatus,
  responseFaultOf,
  type S3RequestInfo,
} from '../../src/local/s3/faults';

const request = (key: string, method = 'GET'): S3RequestInfo => ({ method, bucket: 'b', key, query: '', headers: {} });
const HEADERS: Array<[string, string]> = [
  ['Content-Type', 'application/json'],
  ['content-length', '10'],
  ['ETag', '"abc"'],
];

describe('faultedResponse: what a truncate or corrupt fault makes of s3rver’s answer', () => {
  const cases: Array<[string, Parameters<typeof faultedResponse>, FaultedResponse]> = [
    [
      'truncate: full Content-Length, first half of the body, then the connection dies',
      ['truncate', 'GET', HEADERS, Buffer.from('0123456789')],
      {
        action: 'send',
        headers: [
          ['Content-Type', 'application/json'],
          ['ETag', '"abc"'],
          ['Content-Length', '10'],
        ],
        body: Buffer.from('01234'),
        then: 'destroy',
      },
    ],
    [
      'truncate, odd length: rounds the half down',
      ['truncate', 'GET', [], Buffer.from('abcde')],
      { action: 'send', headers: [['Content-Length', '5']], body: Buffer.from('ab'), then: 'destroy' },
    ],
    [
      'truncate, no body (PUT, DELETE): no answer at all',
      ['truncate', 'PUT', HEADERS, Buffer.alloc(0)],
      { action: 'destroy' },
    ],
    ['truncate, HEAD: no answer at all', ['truncate', 'HEAD', HEADERS, Buffer.from('ignored')], { action: 'destroy' }],
    [
      'corrupt: first, middle and last byte flipped, headers unchanged',
      ['corrupt', 'GET', HEADERS, Buffer.from([0x00, 0x01, 0x02, 0x03, 0x04])],
      { action: 'send', headers: HEADERS, body: Buffer.from([0xff, 0x01, 0xfd, 0x03, 0xfb]), then: 'end' },
    ],
    [
      'corrupt, one byte: flipped once, not three times',
      ['corrupt', 'GET', HEADERS, Buffer.from([0x0f])],
      { action: 'send', headers: HEADERS, body: Buffer.from([0xf0]), then: 'end' },
    ],
    [
      'corrupt, empty body',
      ['corrupt', 'PUT', HEADERS, Buffer.alloc(0)],
      { action: 'send', headers: HEADERS, body: Buffer.alloc(0), then: 'end' },
    ],
  ];
  it.each(cases)('%s', (_name, args, expected) => {
    expect(faultedResponse(...args)).toEqual(expected);
  });

  it('corrupt leaves s3rver’s bytes alone (it answers a copy)', () => {
    const data = Buffer.from('abc');
    faultedResponse('corrupt', 'GET', [], data);
    expect(data.toString()).toBe('abc');
  });
});

describe('injectedStatus: a status fault’s answer', () => {
  it.each<[Partial<FaultSpec>, { status: number; code: string }]>([
    [{}, { status: 503, code: 'ServiceUnavailable' }],
    [{ status: 500 }, { status: 500, code: 'InternalError' }],
    [{ status: 502 }, { status: 502, code: 'BadGateway' }],
    [{ status: 504 }, { status: 504, code: 'GatewayTimeout' }],
    [{ status: 429 }, { status: 429, code: 'TooManyRequests' }],
    [{ status: 403 }, { status: 403, code: 'AccessDenied' }],
    [{ status: 404 }, { status: 404, code: 'NoSuchKey' }],
    [{ status: 418 }, { status: 418, code: 'InjectedFault' }],
    [
      { status: 503, code: 'SlowDown' },
      { status: 503, code: 'SlowDown' },
    ],
  ])('%o → %o', (spec, expected) => {
    expect(injectedStatus({ kind: 'status', match: () => true, ...spec })).toEqual(expected);
  });
});

describe('FaultTable: which request gets which fault', () => {
  it('applies a fault `times` times to matching requests, then no more', () => {
    const faults = new FaultTable();
    faults.inject({ kind: 'reset', match: (r) => r.key === 'a', times: 2 });
    expect(faults.take(request('b'))).toBeUndefined();
    expect(faults.take(request('a'))?.kind).toBe('reset');
    expect(faults.take(request('a'))?.kind).toBe('reset');
    expect(faults.take(request('a'))).toBeUndefined();
  });

  it('without `times`, applies until clear()', () => {
    const faults = new FaultTable();
    faults.inject({ kind: 'status', match: () => true });
    for (let i = 0; i < 5; i++) expect(faults.take(request('k'))?.kind).toBe('status');
    faults.clear();
    expect(faults.take(request('k'))).toBeUndefined();
  });

  it('the first injected matching fault wins; a throwing matcher matches nothing', () => {
    const faults = new FaultTable();
    faults.inject({
      kind: 'stall',
      match: () => {
        throw new Error('matcher bug');
      },
    });
    faults.inject({ kind: 'corrupt', match: (r) => r.method === 'GET', times: 1 });
    faults.inject({ kind: 'truncate', match: () => true });
    expect(faults.take(request('k'))?.kind).toBe('corrupt');
    expect(faults.take(request('k'))?.kind).toBe('truncate');
    expect(faults.take(request('k', 'PUT'))?.kind).toBe('truncate');
  });

  it.each([200, 399, 600])('refuses status %i (a fault is a 4xx or 5xx)', (status) => {
    expect(() => new FaultTable().inject({ kind: 'status', status, match: () => true })).toThrow(/4xx or 5xx/);
  });

  it('responseFaultOf names only the faults that damage s3rver’s answer', () => {
    const spec = (kind: FaultSpec['kind']): FaultSpec => ({ kind, match: () => true });
    expect(
      [undefined, 'status', 'reset', 'stall', 'truncate', 'corrupt'].map((k) =>
        responseFaultOf(k === undefined ? undefined : spec(k as FaultSpec['kind'])),
      ),
    ).toEqual([undefined, undefined, undefined, undefined, 'truncate', 'corrupt']);
  });
});
