/** Whether this machine stores numbers little-endian (x86_64 and arm64 Lambda both do). */
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Little-endian float32 bytes as a Float32Array, without parsing numbers: a
 * view on the same memory when the bytes start at a multiple of 4 (a Float32Array
 * cannot start elsewhere, and a small decoded Buffer often comes from Node's
 * shared pool at any offset), else one copy into an aligned buffer.
 * `bytes.byteLength` must be a multiple of 4.
 */
export function float32FromLittleEndian(bytes: Uint8Array): Float32Array {
  const n = bytes.byteLength / 4;
  if (!LITTLE_ENDIAN) {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    return Float32Array.from({ length: n }, (_, i) => view.getFloat32(4 * i, true));
  }
  if (bytes.byteOffset % 4 === 0) return new Float32Array(bytes.buffer, bytes.byteOffset, n);
  const aligned = new Uint8Array(bytes.byteLength);
  aligned.set(bytes);
  return new Float32Array(aligned.buffer, 0, n);
}

/** The values as little-endian float32 bytes (a view when they already are float32 on a little-endian machine). */
export function littleEndianFloat32(values: Float32Array | Float64Array): Uint8Array {
  if (values instanceof Float32Array && LITTLE_ENDIAN)
    return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  const out = new Uint8Array(values.length * 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(4 * i, values[i], true);
  return out;
}
