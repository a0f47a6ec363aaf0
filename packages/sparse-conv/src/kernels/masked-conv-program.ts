import type { UniformData } from './pyramid-uniforms';
/** Pixels per side of the square tile one workgroup covers (one thread per pixel). */
export const TILE = 8;

/** The fields of tfjs-backend-webgpu's WebGPUProgram this package fills (the type is not exported at runtime). */
export interface WebGPUProgramLike {
  variableNames: string[];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[]; y?: number[]; z?: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number];
  uniforms?: string;
  /** the values of `uniforms`, passed to runWebGPUProgram with the program (pyramid-uniforms.ts) */
  uniformData?: UniformData;
  variableComponents?: number[];
  getUserCode(): string;
}

/** Largest of 8, 4, 2, 1 dividing n: output channels per thread, so no thread needs a bounds check. */
export function channelsPerThread(n: number): number {
  return [8, 4, 2, 1].find((c) => n % c === 0) ?? 1;
}

/**
 * How a thread holds its cpt output channels: as vec4s when cpt is a multiple of 4 (the filter,
 * and for depthwise the input, are then read as vec4<f32>), else as scalars.
 */
export interface ChannelLayout {
  cpt: number;
  vec4: boolean;
}

export function channelLayout(outChannels: number): ChannelLayout {
  const cpt = channelsPerThread(outChannels);
  return { cpt, vec4: cpt % 4 === 0 };
}

/** `variableComponents` for inputs [X, Filt, ...others]: Filt as vec4 (and X too for depthwise) in the vec4 layout. */
export function inputComponents(layout: ChannelLayout, depthwise: boolean, others = 1): number[] | undefined {
  if (!layout.vec4) return undefined;
  return [depthwise ? 4 : 1, 4, ...new Array<number>(others).fill(1)];
}

/** Declares and zeroes `acc`. */
export function accDeclSnippet({ cpt, vec4 }: ChannelLayout): string {
  return vec4
    ? `var acc : array<vec4<f32>, ${cpt / 4}>;
  for (var q = 0; q < ${cpt / 4}; q++) {
    acc[q] = vec4<f32>(0.0);
  }`
    : `var acc : array<f32, ${cpt}>;
  for (var j = 0; j < ${cpt}; j++) {
    acc[j] = 0.0;
  }`;
}

/** Writes acc to the output at flat index base + j. */
export function accWriteSnippet(base: string, { cpt, vec4 }: ChannelLayout): string {
  return vec4
    ? `for (var q = 0; q < ${cpt / 4}; q++) {
    for (var c = 0; c < 4; c++) {
      setOutputAtIndex(${base} + q * 4 + c, acc[q][c]);
    }
  }`
    : `for (var j = 0; j < ${cpt}; j++) {
    setOutputAtIndex(${base} + j, acc[j]);
  }`;
}

/**
 * WGSL accumulating the k x k conv at pixel (b, y, x) into acc for output channels co0..co0+cpt,
 * given h, w, cin, cout in scope. Regular: Filt [k,k,Cin,Cout]; depthwise [k,k,C,1].
 */
export function convAtPixelSnippet(k: number, layout: ChannelLayout, depthwise: boolean): string {
  const p = (k - 1) / 2;
  const { cpt, vec4 } = layout;
  let accumulate: string;
  if (depthwise && vec4) {
    accumulate = `for (var q = 0; q < ${cpt / 4}; q++) {
            acc[q] = fma(X[(xBase + co0) / 4 + q], Filt[(tap * cin + co0) / 4 + q], acc[q]);
          }`;
  } else if (depthwise) {
    accumulate = `for (var j = 0; j < ${cpt}; j++) {
            acc[j] = fma(X[xBase + co0 + j], Filt[tap * cin + co0 + j], acc[j]);
          }`;
  } else if (vec4) {
    accumulate = `for (var ci = 0; ci < cin; ci++) {
            let xv = vec4<f32>(X[xBase + ci]);
            let wBase = ((tap * cin + ci) * cout + co0) / 4;
            for (var q = 0; q < ${cpt / 4}; q++) {
              acc[q] = fma(xv, Filt[wBase + q], acc[q]);
            }
          }`;
  } else {
    accumulate = `for (var ci = 0; ci < cin; ci++) {
            let xv = X[xBase + ci];
            let wBase = (tap * cin + ci) * cout + co0;
            for (var j = 0; j < ${cpt}; j++) {
              acc[j] = fma(xv, Filt[wBase + j], acc[j]);
            }
          }`;
  }
  return `for (var ky = 0; ky < ${k}; ky++) {
      let yy = y + ky - ${p};
      if (yy < 0 || yy >= h) {
        continue;
      }
      for (var kx = 0; kx < ${k}; kx++) {
        let xx = x + kx - ${p};
        if (xx < 0 || xx >= w) {
          continue;
        }
        let xBase = ((b * h + yy) * w + xx) * cin;
        let tap = ky * ${k} + kx;
        ${accumulate}
      }
    }`;
}

/**
 * 'same', stride-1 k x k conv (regular or depthwise) evaluated only where Mask > 0, writing 0
 * elsewhere; the mask stays on the GPU. One workgroup = one 8x8 pixel tile x CPT output channels,
 * one thread per pixel, so a warp over an all-zero part of a blob mask retires at once (tile-level
 * skipping falls out of the thread layout, with no compaction pass and no readback).
 * Inputs: X [B,H,W,Cin], Filt [k,k,Cin,Cout] (depthwise [k,k,C,1]), Mask [B,H,W,1].
 */
export class MaskedConvProgram implements WebGPUProgramLike {
  variableNames = ['X', 'Filt', 'Mask'];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout = { x: [1, 2], y: [3], z: [0] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [TILE * TILE, 1, 1];
  variableComponents?: number[];
  private readonly kernel: number;
  private readonly depthwise: boolean;
  private readonly layout: ChannelLayout;

  constructor(xShape: number[], outChannels: number, kernel: number, depthwise: boolean) {
    const [b, h, w] = xShape;
    this.outputShape = [b, h, w, outChannels];
    this.kernel = kernel;
    this.depthwise = depthwise;
    this.layout = channelLayout(outChannels);
    this.variableComponents = inputComponents(this.layout, depthwise);
    // everything baked into the WGSL text goes into the key: shapes arrive as uniforms
    this.shaderKey = `dynheadMaskedConv_k${kernel}_${depthwise ? 'dw' : 'conv'}_cpt${this.layout.cpt}_v${this.layout.vec4 ? 4 : 1}`;
    this.dispatch = [Math.ceil(h / TILE) * Math.ceil(w / TILE), outChannels / this.layout.cpt, b];
  }

  getUserCode(): string {
    const cpt = this.layout.cpt;
    return `
fn main() {
  let h = uniforms.xShape[1];
  let w = uniforms.xShape[2];
  let cin = uniforms.xShape[3];
  let cout = uniforms.outShape[3];
  let tilesX = (w + ${TILE - 1}) / ${TILE};
  let tile = i32(workgroupId.x);
  let y = (tile / tilesX) * ${TILE} + i32(localId.x) / ${TILE};
  let x = (tile % tilesX) * ${TILE} + i32(localId.x) % ${TILE};
  let b = i32(workgroupId.z);
  if (y >= h || x >= w) {
    return;
  }
  let pix = (b * h + y) * w + x;
  let co0 = i32(workgroupId.y) * ${cpt};
  ${accDeclSnippet(this.layout)}
  // f32(): the backend may store a mask made by cast(bool) as i32
  if (f32(Mask[pix]) > 0.0) {
    ${convAtPixelSnippet(this.kernel, this.layout, this.depthwise)}
  }
  ${accWriteSnippet('pix * cout + co0', this.layout)}
}
`;
  }
}
