/**
 * PyTorch stores convolutions as [out, in, kh, kw] and feature maps as NCHW; tfjs wants filters as
 * [kh, kw, in, out] (depthwise: [kh, kw, channels, 1]) and maps as NHWC. These permutations are
 * the only place that knowledge lives.
 */

function permute(data: ArrayLike<number>, shape: number[], order: number[]): { data: Float32Array; shape: number[] } {
  const rank = shape.length;
  const outShape = order.map((o) => shape[o]);
  const inStrides = new Array(rank).fill(1);
  for (let i = rank - 2; i >= 0; i--) inStrides[i] = inStrides[i + 1] * shape[i + 1];
  const n = shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  const idx = new Array(rank).fill(0);
  for (let o = 0; o < n; o++) {
    let src = 0;
    for (let d = 0; d < rank; d++) src += idx[d] * inStrides[order[d]];
    out[o] = data[src];
    for (let d = rank - 1; d >= 0; d--) {
      if (++idx[d] < outShape[d]) break;
      idx[d] = 0;
    }
  }
  return { data: out, shape: outShape };
}

/** [out, in, kh, kw] -> [kh, kw, in, out]. */
export const torchConvToTfjs = (data: ArrayLike<number>, shape: number[]) => permute(data, shape, [2, 3, 1, 0]);
/** [kh, kw, in, out] -> [out, in, kh, kw]. */
export const tfjsConvToTorch = (data: ArrayLike<number>, shape: number[]) => permute(data, shape, [3, 2, 0, 1]);
/** Depthwise [C, 1, kh, kw] -> [kh, kw, C, 1]. */
export const torchDepthwiseToTfjs = (data: ArrayLike<number>, shape: number[]) => permute(data, shape, [2, 3, 0, 1]);
/** Depthwise [kh, kw, C, 1] -> [C, 1, kh, kw]. */
export const tfjsDepthwiseToTorch = (data: ArrayLike<number>, shape: number[]) => permute(data, shape, [2, 3, 0, 1]);
/** NCHW -> NHWC. */
export const nchwToNhwc = (data: ArrayLike<number>, shape: number[]) => permute(data, shape, [0, 2, 3, 1]);
/** NHWC -> NCHW. */
export const nhwcToNchw = (data: ArrayLike<number>, shape: number[]) => permute(data, shape, [0, 3, 1, 2]);
