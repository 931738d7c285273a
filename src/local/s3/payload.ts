/**
 * Request-payload handling s3rver lacks: decoding `aws-chunked` uploads (what
 * the newest SDK sends by default for streamed bodies with flexible checksums;
 * s3rver would store the chunk framing as the object's bytes) and verifying
 * Content-MD5 / x-amz-checksum-* like S3 does (400 BadDigest on mismatch).
 */
import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import * as zlib from 'node:zlib';

export class PayloadError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

/** True when the body uses the aws-chunked content encoding. */
export function isAwsChunked(headers: IncomingHttpHeaders): boolean {
  const enc = String(headers['content-encoding'] ?? '').toLowerCase();
  if (enc.split(',').some((t) => t.trim() === 'aws-chunked')) return true;
  const sha = String(headers['x-amz-content-sha256'] ?? '');
  return sha.startsWith('STREAMING-');
}

/**
 * Decodes an aws-chunked body: `<hex-size>[;chunk-signature=…]\r\n<data>\r\n`
 * repeated, a zero-size chunk, then optional trailer lines and a blank line.
 * Mutates `headers` so the forwarded request looks like a plain upload:
 * content-length is the decoded length, aws-chunked is removed from
 * content-encoding, and trailing checksums become x-amz-checksum-* headers.
 */
export function decodeAwsChunked(body: Buffer, headers: IncomingHttpHeaders): Buffer {
  const parts: Buffer[] = [];
  let pos = 0;
  const readLine = (): string => {
    const end = body.indexOf('\r\n', pos, 'latin1');
    if (end < 0) throw new PayloadError('IncompleteBody', 'aws-chunked body ended inside a chunk header');
    const line = body.toString('latin1', pos, end);
    pos = end + 2;
    return line;
  };
  for (;;) {
    const header = readLine();
    const size = parseInt(header.split(';')[0].trim(), 16);
    if (!Number.isFinite(size) || size < 0) {
      throw new PayloadError('InvalidRequest', `invalid aws-chunked chunk header "${header.slice(0, 80)}"`);
    }
    if (size === 0) break;
    if (pos + size + 2 > body.length) {
      throw new PayloadError('IncompleteBody', 'aws-chunked body shorter than its chunk sizes');
    }
    parts.push(body.subarray(pos, pos + size));
    pos += size;
    if (body.toString('latin1', pos, pos + 2) !== '\r\n') {
      throw new PayloadError('InvalidRequest', 'aws-chunked chunk not terminated by CRLF');
    }
    pos += 2;
  }
  // trailers (until a blank line or the end of the body)
  while (pos < body.length) {
    const line = readLine();
    if (line === '') break;
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (name.startsWith('x-amz-checksum-')) headers[name] = value;
  }
  const decoded = Buffer.concat(parts);
  const declared = headers['x-amz-decoded-content-length'];
  if (declared !== undefined && Number(declared) !== decoded.length) {
    throw new PayloadError(
      'IncompleteBody',
      `x-amz-decoded-content-length ${String(declared)} does not match the ${decoded.length} decoded bytes`,
    );
  }
  const enc = String(headers['content-encoding'] ?? '')
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t && t.toLowerCase() !== 'aws-chunked');
  if (enc.length) headers['content-encoding'] = enc.join(', ');
  else delete headers['content-encoding'];
  delete headers['x-amz-decoded-content-length'];
  delete headers['x-amz-trailer'];
  headers['x-amz-content-sha256'] = 'UNSIGNED-PAYLOAD';
  headers['content-length'] = String(decoded.length);
  return decoded;
}

let crc32cTable: Uint32Array | undefined;
function crc32c(data: Buffer): number {
  if (!crc32cTable) {
    crc32cTable = new Uint32Array(256);
    for (let i = 0; i < 256; i++) {
      let c = i;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
      crc32cTable[i] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (let i = 0; i < data.length; i++) crc = crc32cTable[(crc ^ data[i]) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

function u32be(n: number): string {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b.toString('base64');
}

const CHECKSUMS: Record<string, { label: string; compute: (b: Buffer) => string }> = {
  'x-amz-checksum-crc32': { label: 'CRC32', compute: (b) => u32be(zlib.crc32(b)) },
  'x-amz-checksum-crc32c': { label: 'CRC32C', compute: (b) => u32be(crc32c(b)) },
  'x-amz-checksum-sha1': { label: 'SHA1', compute: (b) => createHash('sha1').update(b).digest('base64') },
  'x-amz-checksum-sha256': { label: 'SHA256', compute: (b) => createHash('sha256').update(b).digest('base64') },
  // x-amz-checksum-crc64nvme is accepted without verification (no implementation here).
};

/**
 * Verifies Content-MD5 and (when `checksums`, i.e. for PutObject / UploadPart,
 * whose checksum headers describe the body) any x-amz-checksum-* header
 * against the (decoded) body.
 */
export function verifyPayload(body: Buffer, headers: IncomingHttpHeaders, checksums: boolean): void {
  const md5 = headers['content-md5'];
  if (typeof md5 === 'string' && md5) {
    const actual = createHash('md5').update(body).digest('base64');
    if (actual !== md5.trim()) {
      throw new PayloadError('BadDigest', 'The Content-MD5 you specified did not match what we received.');
    }
  }
  if (!checksums) return;
  for (const [name, { label, compute }] of Object.entries(CHECKSUMS)) {
    const expected = headers[name];
    if (typeof expected !== 'string' || !expected) continue;
    if (compute(body) !== expected.trim()) {
      throw new PayloadError('BadDigest', `The ${label} you specified did not match the calculated checksum.`);
    }
  }
}
