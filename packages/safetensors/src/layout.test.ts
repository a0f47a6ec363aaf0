import { describe, expect, it } from 'vitest';
import { nchwToNhwc, nhwcToNchw, tfjsConvToTorch, tfjsDepthwiseToTorch, torchConvToTfjs, torchDepthwiseToTfjs } from './layout';

/** Values that say where they came from: the row-major index in the source layout. */
const iota = (n: number) => Float32Array.from({ length: n }, (_, i) => i);

describe('layouts between PyTorch and tfjs', () => {
  it('a conv filter [out, in, kh, kw] -> [kh, kw, in, out], by the index formula, and back', () => {
    const [O, I, KH, KW] = [5, 3, 2, 4];
    const torch = iota(O * I * KH * KW);
    const t = torchConvToTfjs(torch, [O, I, KH, KW]);
    expect(t.shape).toEqual([KH, KW, I, O]);
    for (let o = 0; o < O; o++) for (let i = 0; i < I; i++) for (let y = 0; y < KH; y++) for (let x = 0; x < KW; x++) {
      expect(t.data[((y * KW + x) * I + i) * O + o]).toBe(((o * I + i) * KH + y) * KW + x);
    }
    const back = tfjsConvToTorch(t.data, t.shape);
    expect(back.shape).toEqual([O, I, KH, KW]);
    expect(back.data).toEqual(torch);
  });

  it('a depthwise filter [C, 1, kh, kw] -> [kh, kw, C, 1], and back', () => {
    const [C, KH, KW] = [6, 3, 3];
    const torch = iota(C * KH * KW);
    const t = torchDepthwiseToTfjs(torch, [C, 1, KH, KW]);
    expect(t.shape).toEqual([KH, KW, C, 1]);
    for (let c = 0; c < C; c++) for (let y = 0; y < KH; y++) for (let x = 0; x < KW; x++) {
      expect(t.data[(y * KW + x) * C + c]).toBe((c * KH + y) * KW + x);
    }
    const back = tfjsDepthwiseToTorch(t.data, t.shape);
    expect(back.shape).toEqual([C, 1, KH, KW]);
    expect(back.data).toEqual(torch);
  });

  it('a feature map NCHW -> NHWC, and back', () => {
    const [N, C, H, W] = [2, 3, 4, 5];
    const nchw = iota(N * C * H * W);
    const t = nchwToNhwc(nchw, [N, C, H, W]);
    expect(t.shape).toEqual([N, H, W, C]);
    for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
      expect(t.data[((n * H + y) * W + x) * C + c]).toBe(((n * C + c) * H + y) * W + x);
    }
    const back = nhwcToNchw(t.data, t.shape);
    expect(back.shape).toEqual([N, C, H, W]);
    expect(back.data).toEqual(nchw);
  });
});
