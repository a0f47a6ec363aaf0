/**
 * Where output pixel (y, x) of a bilinear resize samples its source, as offsets into one source
 * image: rowOff[2y], rowOff[2y + 1] the two rows (row * width * c floats), rowFrac[y] the second's
 * weight; colOff / colFrac the same for columns (col * c). tfjs's ResizeBilinear semantics
 * (no half-pixel centres); a source already of the output's size maps every pixel to itself.
 */
export interface ResizeTable {
  rowOff: Int32Array;
  rowFrac: Float32Array;
  colOff: Int32Array;
  colFrac: Float32Array;
}

function axis(inSize: number, outSize: number, alignCorners: boolean, stride: number): { off: Int32Array; frac: Float32Array } {
  const effIn = alignCorners && outSize > 1 ? inSize - 1 : inSize;
  const effOut = alignCorners && outSize > 1 ? outSize - 1 : outSize;
  const ratio = effIn / effOut;
  const off = new Int32Array(2 * outSize);
  const frac = new Float32Array(outSize);
  for (let i = 0; i < outSize; i++) {
    const src = ratio * i;
    const lo = Math.floor(src);
    off[2 * i] = lo * stride;
    off[2 * i + 1] = Math.min(inSize - 1, Math.ceil(src)) * stride;
    frac[i] = src - lo;
  }
  return { off, frac };
}

export function resizeTable(inShape: number[], outHeight: number, outWidth: number, alignCorners: boolean): ResizeTable {
  const [, inH, inW, c] = inShape;
  const rows = axis(inH, outHeight, alignCorners, inW * c);
  const cols = axis(inW, outWidth, alignCorners, c);
  return { rowOff: rows.off, rowFrac: rows.frac, colOff: cols.off, colFrac: cols.frac };
}

export interface BlendSource {
  data: Float32Array;
  /** Floats per image. */
  plane: number;
  table: ResizeTable;
}

/** out = (a' + b') * sw + x * xw over [batch, h, w, c], a' and b' sampled through their tables. */
export function blendResizedLoop(x: Float32Array, shape: number[], xw: number, sw: number, sources: BlendSource[], out: Float32Array): void {
  const [batch, h, w, c] = shape;
  for (let n = 0, o = 0; n < batch; n++) {
    for (let y = 0; y < h; y++) {
      for (let xx = 0; xx < w; xx++, o += c) {
        for (let ch = 0; ch < c; ch++) out[o + ch] = 0;
        for (const s of sources) {
          const { rowOff, rowFrac, colOff, colFrac } = s.table;
          const base = n * s.plane;
          const r0 = base + rowOff[2 * y];
          const r1 = base + rowOff[2 * y + 1];
          const c0 = colOff[2 * xx];
          const c1 = colOff[2 * xx + 1];
          const cf = colFrac[xx];
          const rf = rowFrac[y];
          const d = s.data;
          for (let ch = 0; ch < c; ch++) {
            const top = d[r0 + c0 + ch] + (d[r0 + c1 + ch] - d[r0 + c0 + ch]) * cf;
            const bottom = d[r1 + c0 + ch] + (d[r1 + c1 + ch] - d[r1 + c0 + ch]) * cf;
            out[o + ch] += top + (bottom - top) * rf;
          }
        }
        for (let ch = 0; ch < c; ch++) out[o + ch] = out[o + ch] * sw + x[o + ch] * xw;
      }
    }
  }
}
