import { describe, expect, it } from 'vitest';
import {
  copySourceConditions,
  copySourceVerdict,
  type CurrentObject,
  deleteVerdict,
  type PreconditionVerdict,
  type ReadConditions,
  readConditions,
  readVerdict,
  type StoredTarget,
  type WriteConditions,
  writeConditions,
  writeVerdict,
} from '../../src/local/s3/preconditions';

// The object every case is evaluated against (when it exists).
const OBJ: CurrentObject = { etag: '"abc"', lastModified: new Date('2024-01-02T00:00:00Z') };
const BEFORE = new Date('2024-01-01T00:00:00Z');
const AT = new Date('2024-01-02T00:00:00Z');
const AFTER = new Date('2024-01-03T00:00:00Z');

const proceed: PreconditionVerdict = { outcome: 'proceed' };
const notModified: PreconditionVerdict = { outcome: 'notModified', object: OBJ };
const noSuchKey: PreconditionVerdict = { outcome: 'noSuchKey' };
const failed = (condition: string): PreconditionVerdict => ({ outcome: 'preconditionFailed', condition });
const notImplemented: PreconditionVerdict = { outcome: 'notImplemented', header: 'If-None-Match' };

// Where a write or delete lands.
const NO_BUCKET: StoredTarget = { bucketExists: false };
const NO_OBJECT: StoredTarget = { bucketExists: true };
const EXISTS: StoredTarget = { bucketExists: true, object: OBJ };
// The loser of a concurrent If-Match race: the key's lock serialises writers, so it sees the
// winner's new ETag and gets 412. No verdict is a 409; concurrent conflicts are 412s.
const REPLACED: StoredTarget = { bucketExists: true, object: { etag: '"winner"', lastModified: AFTER } };

describe('GET / HEAD conditions (readVerdict)', () => {
  const cases: Array<[string, ReadConditions, CurrentObject | undefined, PreconditionVerdict]> = [
    ['no conditions', {}, OBJ, proceed],
    ['missing object: s3rver answers 404', { ifMatch: '"other"' }, undefined, proceed],
    ['missing object, If-None-Match: *', { ifNoneMatch: '*' }, undefined, proceed],
    ['If-Match, same quoted ETag', { ifMatch: '"abc"' }, OBJ, proceed],
    ['If-Match, same unquoted ETag', { ifMatch: 'abc' }, OBJ, proceed],
    ['If-Match, list containing the ETag', { ifMatch: '"x", "abc"' }, OBJ, proceed],
    ['If-Match: *', { ifMatch: '*' }, OBJ, proceed],
    ['If-Match, other ETag', { ifMatch: '"other"' }, OBJ, failed('If-Match')],
    ['If-Match, empty list', { ifMatch: ' , ' }, OBJ, failed('If-Match')],
    ['If-Unmodified-Since before the change', { ifUnmodifiedSince: BEFORE }, OBJ, failed('If-Unmodified-Since')],
    ['If-Unmodified-Since at the change', { ifUnmodifiedSince: AT }, OBJ, proceed],
    [
      'If-Match holds, so If-Unmodified-Since is ignored',
      { ifMatch: '"abc"', ifUnmodifiedSince: BEFORE },
      OBJ,
      proceed,
    ],
    ['If-None-Match, same ETag', { ifNoneMatch: '"abc"' }, OBJ, notModified],
    ['If-None-Match, weak form of the ETag', { ifNoneMatch: 'W/"abc"' }, OBJ, notModified],
    ['If-None-Match: *', { ifNoneMatch: '*' }, OBJ, notModified],
    ['If-None-Match, other ETag', { ifNoneMatch: '"other"' }, OBJ, proceed],
    ['If-Modified-Since at the change', { ifModifiedSince: AT }, OBJ, notModified],
    ['If-Modified-Since after the change', { ifModifiedSince: AFTER }, OBJ, notModified],
    ['If-Modified-Since before the change', { ifModifiedSince: BEFORE }, OBJ, proceed],
    [
      'If-None-Match decides, If-Modified-Since ignored',
      { ifNoneMatch: '"other"', ifModifiedSince: AFTER },
      OBJ,
      proceed,
    ],
    ['412 wins over 304', { ifMatch: '"other"', ifNoneMatch: '"abc"' }, OBJ, failed('If-Match')],
    ['If-Match holds, If-None-Match matches', { ifMatch: '"abc"', ifNoneMatch: '"abc"' }, OBJ, notModified],
  ];
  it.each(cases)('%s', (_name, conditions, object, expected) => {
    expect(readVerdict(conditions, object)).toEqual(expected);
  });
});

describe('CopyObject x-amz-copy-source-if-* on the source (copySourceVerdict)', () => {
  const cases: Array<[string, ReadConditions, CurrentObject | undefined, PreconditionVerdict]> = [
    ['no conditions', {}, OBJ, proceed],
    ['missing source: s3rver answers 404', { ifMatch: '"other"' }, undefined, proceed],
    ['if-match, same ETag', { ifMatch: '"abc"' }, OBJ, proceed],
    ['if-match, other ETag', { ifMatch: '"other"' }, OBJ, failed('x-amz-copy-source-If-Match')],
    [
      'if-unmodified-since before the change',
      { ifUnmodifiedSince: BEFORE },
      OBJ,
      failed('x-amz-copy-source-If-Unmodified-Since'),
    ],
    ['if-match holds, if-unmodified-since ignored', { ifMatch: '"abc"', ifUnmodifiedSince: BEFORE }, OBJ, proceed],
    [
      'if-none-match, same ETag: 412, not 304',
      { ifNoneMatch: '"abc"' },
      OBJ,
      failed('x-amz-copy-source-If-None-Match'),
    ],
    ['if-none-match, other ETag', { ifNoneMatch: '"other"' }, OBJ, proceed],
    ['if-modified-since at the change', { ifModifiedSince: AT }, OBJ, failed('x-amz-copy-source-If-Modified-Since')],
    ['if-modified-since before the change', { ifModifiedSince: BEFORE }, OBJ, proceed],
    ['if-none-match decides, if-modified-since ignored', { ifNoneMatch: '"x"', ifModifiedSince: AFTER }, OBJ, proceed],
    ['if-match fails first', { ifMatch: '"x"', ifNoneMatch: '"abc"' }, OBJ, failed('x-amz-copy-source-If-Match')],
  ];
  it.each(cases)('%s', (_name, conditions, source, expected) => {
    expect(copySourceVerdict(conditions, source)).toEqual(expected);
  });
});

describe('PUT, CopyObject destination, CompleteMultipartUpload (writeVerdict)', () => {
  const cases: Array<[string, WriteConditions, StoredTarget, PreconditionVerdict]> = [
    ['no conditions, key exists', {}, EXISTS, proceed],
    ['If-None-Match: *, missing bucket: s3rver answers NoSuchBucket', { ifNoneMatch: '*' }, NO_BUCKET, proceed],
    ['If-None-Match: *, new key', { ifNoneMatch: '*' }, NO_OBJECT, proceed],
    ['If-None-Match: *, key exists', { ifNoneMatch: '*' }, EXISTS, failed('If-None-Match')],
    ['If-None-Match: " * " (spaces trimmed), key exists', { ifNoneMatch: ' * ' }, EXISTS, failed('If-None-Match')],
    ['If-None-Match with an ETag: 501', { ifNoneMatch: '"abc"' }, EXISTS, notImplemented],
    ['If-None-Match with an ETag, new key: 501', { ifNoneMatch: '"abc"' }, NO_OBJECT, notImplemented],
    ['If-None-Match with an ETag, missing bucket', { ifNoneMatch: '"abc"' }, NO_BUCKET, proceed],
    ['If-Match, missing key: 404', { ifMatch: '"abc"' }, NO_OBJECT, noSuchKey],
    ['If-Match, missing bucket: s3rver answers NoSuchBucket', { ifMatch: '"abc"' }, NO_BUCKET, proceed],
    ['If-Match, same ETag', { ifMatch: '"abc"' }, EXISTS, proceed],
    ['If-Match, same ETag unquoted', { ifMatch: 'abc' }, EXISTS, proceed],
    ['If-Match, other ETag', { ifMatch: '"other"' }, EXISTS, failed('If-Match')],
    ['If-Match, loser of a concurrent race', { ifMatch: '"abc"' }, REPLACED, failed('If-Match')],
    ['If-Match: *, key exists', { ifMatch: '*' }, EXISTS, proceed],
    ['If-Match: *, missing key: 404', { ifMatch: '*' }, NO_OBJECT, noSuchKey],
    ['If-Match holds and If-None-Match: *', { ifMatch: '"abc"', ifNoneMatch: '*' }, EXISTS, failed('If-None-Match')],
    ['If-Match fails before If-None-Match', { ifMatch: '"x"', ifNoneMatch: '*' }, EXISTS, failed('If-Match')],
    ['If-Match and If-None-Match: *, missing key: 404', { ifMatch: '"x"', ifNoneMatch: '*' }, NO_OBJECT, noSuchKey],
  ];
  it.each(cases)('%s', (_name, conditions, target, expected) => {
    expect(writeVerdict(conditions, target)).toEqual(expected);
  });
});

describe('DeleteObject, and DeleteObjects <ETag> as If-Match (deleteVerdict)', () => {
  const cases: Array<[string, WriteConditions, StoredTarget, PreconditionVerdict]> = [
    ['no conditions', {}, EXISTS, proceed],
    ['If-Match, missing bucket', { ifMatch: '"abc"' }, NO_BUCKET, proceed],
    ['If-Match, missing key: 404', { ifMatch: '"abc"' }, NO_OBJECT, noSuchKey],
    ['If-Match, other ETag', { ifMatch: '"other"' }, EXISTS, failed('If-Match')],
    ['If-Match, same ETag', { ifMatch: '"abc"' }, EXISTS, proceed],
    ['If-Match, loser of a concurrent race', { ifMatch: '"abc"' }, REPLACED, failed('If-Match')],
    ['If-None-Match, same ETag', { ifNoneMatch: '"abc"' }, EXISTS, failed('If-None-Match')],
    ['If-None-Match, other ETag (no 501 on DELETE)', { ifNoneMatch: '"other"' }, EXISTS, proceed],
    ['If-None-Match: *, key exists', { ifNoneMatch: '*' }, EXISTS, failed('If-None-Match')],
    ['If-None-Match: *, missing key', { ifNoneMatch: '*' }, NO_OBJECT, proceed],
    [
      'If-Match holds, If-None-Match matches',
      { ifMatch: '"abc"', ifNoneMatch: '"abc"' },
      EXISTS,
      failed('If-None-Match'),
    ],
  ];
  it.each(cases)('%s', (_name, conditions, target, expected) => {
    expect(deleteVerdict(conditions, target)).toEqual(expected);
  });
});

describe('conditions parsed from request headers', () => {
  it.each([
    ['no conditional header', {}, undefined],
    ['If-Match', { 'if-match': '"abc"' }, { ifMatch: '"abc"' }],
    ['If-None-Match list', { 'if-none-match': '"a", "b"' }, { ifNoneMatch: '"a", "b"' }],
    ['dates', { 'if-modified-since': AT.toUTCString() }, { ifModifiedSince: AT }],
    ['an unparsable date: conditional, but ignored', { 'if-unmodified-since': 'yesterday' }, {}],
    ['copy-source headers are not the GET conditions', { 'x-amz-copy-source-if-match': '"abc"' }, undefined],
  ])('GET/HEAD: %s', (_name, headers, expected) => {
    const parsed = readConditions(headers);
    if (expected === undefined) expect(parsed).toBeUndefined();
    else expect(parsed).toEqual(expected);
  });

  it.each([
    ['no copy-source condition', { 'if-match': '"abc"' }, undefined],
    [
      'all four',
      {
        'x-amz-copy-source-if-match': '"a"',
        'x-amz-copy-source-if-none-match': '"b"',
        'x-amz-copy-source-if-modified-since': BEFORE.toUTCString(),
        'x-amz-copy-source-if-unmodified-since': AFTER.toUTCString(),
      },
      { ifMatch: '"a"', ifNoneMatch: '"b"', ifModifiedSince: BEFORE, ifUnmodifiedSince: AFTER },
    ],
  ])('CopyObject source: %s', (_name, headers, expected) => {
    const parsed = copySourceConditions(headers);
    if (expected === undefined) expect(parsed).toBeUndefined();
    else expect(parsed).toEqual(expected);
  });

  it.each([
    ['neither header', { 'if-modified-since': AT.toUTCString() }, undefined],
    ['If-None-Match: *', { 'if-none-match': '*' }, { ifNoneMatch: '*' }],
    ['an empty If-Match is still a condition', { 'if-match': '' }, { ifMatch: '' }],
    ['both', { 'if-match': '"a"', 'if-none-match': '*' }, { ifMatch: '"a"', ifNoneMatch: '*' }],
  ])('writes and deletes: %s', (_name, headers, expected) => {
    const parsed = writeConditions(headers);
    if (expected === undefined) expect(parsed).toBeUndefined();
    else expect(parsed).toEqual(expected);
  });
});
