// IEEE 754 half precision (safetensors' F16), to and from the float32 values tfjs holds.

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** The value of the half-precision bit pattern `h` (0..0xffff). */
export function float16ToFloat32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return sign * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * 2 ** (e - 15) * (1 + f / 1024);
}

/**
 * The half-precision bit pattern nearest to `v` taken as float32, ties to even (as numpy's
 * astype(float16) and torch's .half() round): beyond 65504 rounds to infinity, below 2^-25 to zero,
 * NaN stays NaN.
 */
export function float32ToFloat16(v: number): number {
  f32[0] = v;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  const mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    // a half subnormal (or zero): the value is m * 2^-24 with m = the 24-bit mantissa >> (14 - e)
    if (e < -10) return sign;
    const full = mant | 0x800000;
    const shift = 14 - e;
    let half = full >>> shift;
    const rest = full & ((1 << shift) - 1);
    const tie = 1 << (shift - 1);
    if (rest > tie || (rest === tie && half & 1)) half++;
    return sign | half;
  }
  // a carry out of the mantissa moves the exponent up, to infinity past the largest half
  let half = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && half & 1)) half++;
  return sign | Math.min(half, 0x7c00);
}
