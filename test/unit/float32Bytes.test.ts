import { describe, expect, it } from 'vitest';
import { float32FromLittleEndian, littleEndianFloat32 } from '../../src/inference/float32Bytes';

describe('float32 bytes', () => {
  const values = [0.5, -1.25, 3.4028234663852886e38, 1e-45, 0, 42.125];
  const bytes = Buffer.alloc(values.length * 4);
  values.forEach((v, i) => bytes.writeFloatLE(v, 4 * i));

  it.each([0, 1, 2, 3, 4])('reads little-endian float32 starting at byte offset %i of its buffer', (offset) => {
    // Prepare: the same bytes at `offset` inside a larger buffer.
    const host = new Uint8Array(bytes.length + 8);
    host.set(bytes, offset);
    const view = host.subarray(offset, offset + bytes.length);
    // Act
    const out = float32FromLittleEndian(view);
    // Assess
    expect(Array.from(out)).toEqual(values.map((v) => Math.fround(v)));
    expect(out.byteOffset % 4).toBe(0);
    // Aligned input is read in place (no copy); unaligned input is copied once.
    expect(out.buffer === host.buffer).toBe(offset % 4 === 0);
  });

  it('writes float32 and float64 values as little-endian float32 bytes', () => {
    const f32 = littleEndianFloat32(Float32Array.from(values));
    const f64 = littleEndianFloat32(Float64Array.from(values));
    expect(Buffer.from(f32)).toEqual(bytes);
    expect(Buffer.from(f64)).toEqual(bytes);
  });
});
