// float64 references for the conv backprop tests (not exported from the package).
export type Pad = 'same' | 'valid' | number;

export interface Geometry1D {
  out: number;
  before: number;
}

/** Output size and leading pad along one axis, as TensorFlow defines them (effective kernel (k-1)*d+1). */
export function axisGeometry(size: number, k: number, stride: number, pad: Pad, dilation = 1): Geometry1D {
  const ek = (k - 1) * dilation + 1;
  if (pad === 'valid') return { out: Math.ceil((size - ek + 1) / stride), before: 0 };
  if (pad === 'same') {
    const out = Math.ceil(size / stride);
    return { out, before: Math.floor(Math.max((out - 1) * stride + ek - size, 0) / 2) };
  }
  return { out: Math.floor((size + 2 * pad - ek) / stride) + 1, before: pad };
}

export interface ConvCase {
  x: number[]; // [N, H, W, Cin]
  filter: number[]; // [kh, kw, Cin, Cout] (depthwise: [kh, kw, C, M])
  stride: number;
  pad: Pad;
  dilation?: number;
}

function geometry(c: ConvCase) {
  const [N, H, W] = c.x;
  const [kh, kw] = c.filter;
  const d = c.dilation ?? 1;
  const gh = axisGeometry(H, kh, c.stride, c.pad, d);
  const gw = axisGeometry(W, kw, c.stride, c.pad, d);
  return { N, H, W, kh, kw, d, Ho: gh.out, Wo: gw.out, top: gh.before, left: gw.before };
}

export function outShape(c: ConvCase, outChannels: number): number[] {
  const g = geometry(c);
  return [g.N, g.Ho, g.Wo, outChannels];
}

/** Visits every (n, h, w, a, b, i, j) where output pixel (h, w) reads input pixel (i, j) through tap (a, b). */
function forEachTap(c: ConvCase, visit: (n: number, h: number, w: number, a: number, b: number, i: number, j: number) => void) {
  const g = geometry(c);
  for (let n = 0; n < g.N; n++)
    for (let h = 0; h < g.Ho; h++)
      for (let w = 0; w < g.Wo; w++)
        for (let a = 0; a < g.kh; a++)
          for (let b = 0; b < g.kw; b++) {
            const i = h * c.stride - g.top + a * g.d;
            const j = w * c.stride - g.left + b * g.d;
            if (i >= 0 && i < g.H && j >= 0 && j < g.W) visit(n, h, w, a, b, i, j);
          }
}

export function conv2dFilterGradRef(c: ConvCase, x: ArrayLike<number>, dy: ArrayLike<number>): Float64Array {
  const [, H, W, Ci] = c.x;
  const [kh, kw, , Co] = c.filter;
  const { Ho, Wo } = geometry(c);
  const dW = new Float64Array(kh * kw * Ci * Co);
  forEachTap(c, (n, h, w, a, b, i, j) => {
    for (let ci = 0; ci < Ci; ci++) {
      const xv = x[((n * H + i) * W + j) * Ci + ci];
      for (let co = 0; co < Co; co++) dW[((a * kw + b) * Ci + ci) * Co + co] += xv * dy[((n * Ho + h) * Wo + w) * Co + co];
    }
  });
  return dW;
}

export function conv2dInputGradRef(c: ConvCase, filter: ArrayLike<number>, dy: ArrayLike<number>): Float64Array {
  const [N, H, W, Ci] = c.x;
  const [, kw, , Co] = c.filter;
  const { Ho, Wo } = geometry(c);
  const dx = new Float64Array(N * H * W * Ci);
  forEachTap(c, (n, h, w, a, b, i, j) => {
    for (let ci = 0; ci < Ci; ci++)
      for (let co = 0; co < Co; co++) dx[((n * H + i) * W + j) * Ci + ci] += filter[((a * kw + b) * Ci + ci) * Co + co] * dy[((n * Ho + h) * Wo + w) * Co + co];
  });
  return dx;
}

export function depthwiseFilterGradRef(c: ConvCase, x: ArrayLike<number>, dy: ArrayLike<number>): Float64Array {
  const [, H, W, C] = c.x;
  const [kh, kw, , M] = c.filter;
  const { Ho, Wo } = geometry(c);
  const dW = new Float64Array(kh * kw * C * M);
  forEachTap(c, (n, h, w, a, b, i, j) => {
    for (let ch = 0; ch < C; ch++)
      for (let m = 0; m < M; m++)
        dW[((a * kw + b) * C + ch) * M + m] += x[((n * H + i) * W + j) * C + ch] * dy[((n * Ho + h) * Wo + w) * C * M + ch * M + m];
  });
  return dW;
}

export function depthwiseInputGradRef(c: ConvCase, filter: ArrayLike<number>, dy: ArrayLike<number>): Float64Array {
  const [N, H, W, C] = c.x;
  const [, kw, , M] = c.filter;
  const { Ho, Wo } = geometry(c);
  const dx = new Float64Array(N * H * W * C);
  forEachTap(c, (n, h, w, a, b, i, j) => {
    for (let ch = 0; ch < C; ch++)
      for (let m = 0; m < M; m++)
        dx[((n * H + i) * W + j) * C + ch] += filter[((a * kw + b) * C + ch) * M + m] * dy[((n * Ho + h) * Wo + w) * C * M + ch * M + m];
  });
  return dx;
}

export function conv2dRef(c: ConvCase, x: ArrayLike<number>, filter: ArrayLike<number>): Float64Array {
  const [, H, W, Ci] = c.x;
  const [, kw, , Co] = c.filter;
  const { N, Ho, Wo } = geometry(c);
  const y = new Float64Array(N * Ho * Wo * Co);
  forEachTap(c, (n, h, w, a, b, i, j) => {
    for (let ci = 0; ci < Ci; ci++)
      for (let co = 0; co < Co; co++) y[((n * Ho + h) * Wo + w) * Co + co] += x[((n * H + i) * W + j) * Ci + ci] * filter[((a * kw + b) * Ci + ci) * Co + co];
  });
  return y;
}

export function depthwiseRef(c: ConvCase, x: ArrayLike<number>, filter: ArrayLike<number>): Float64Array {
  const [, H, W, C] = c.x;
  const [, kw, , M] = c.filter;
  const { N, Ho, Wo } = geometry(c);
  const y = new Float64Array(N * Ho * Wo * C * M);
  forEachTap(c, (n, h, w, a, b, i, j) => {
    for (let ch = 0; ch < C; ch++)
      for (let m = 0; m < M; m++) y[((n * Ho + h) * Wo + w) * C * M + ch * M + m] += x[((n * H + i) * W + j) * C + ch] * filter[((a * kw + b) * C + ch) * M + m];
  });
  return y;
}
