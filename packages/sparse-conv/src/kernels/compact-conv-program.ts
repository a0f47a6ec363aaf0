import {
  accDeclSnippet,
  accWriteSnippet,
  type ChannelLayout,
  channelLayout,
  convAtPixelSnippet,
  inputComponents,
  type WebGPUProgramLike,
} from './masked-conv-program';

const WORKGROUP = 64;

/**
 * Step 1 of the compacted-index-list path, all on the GPU: with Pos the inclusive prefix sum of the
 * 0/1 Mask (both [P], P = B*H*W), active pixel i writes its index to slot Pos[i] - 1. Slots at and
 * beyond the active count are left unwritten (never read).
 */
export class CompactIndexProgram implements WebGPUProgramLike {
  variableNames = ['Mask', 'Pos'];
  outputShape: number[];
  shaderKey = 'dynheadCompactIndex';
  dispatchLayout = { x: [0] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [WORKGROUP, 1, 1];
  size = true;

  constructor(pixels: number) {
    this.outputShape = [pixels];
    this.dispatch = [Math.ceil(pixels / WORKGROUP), 1, 1];
  }

  getUserCode(): string {
    return `
fn main(index : i32) {
  if (index < uniforms.size && f32(Mask[index]) > 0.0) {
    setOutputAtIndexI32(i32(Pos[index]) - 1, index);
  }
}
`;
  }
}

/**
 * Step 2: one thread per listed pixel, so no thread idles on an inactive pixel. Dispatched for all
 * P rows because the count stays on the GPU (Count[0], the last prefix sum): whole workgroups past
 * it exit at once. Output rows [P, Cout], valid below the count.
 * Inputs: X [B,H,W,Cin], Filt [k,k,Cin,Cout] (depthwise [k,k,C,1]), Idx [P] int32, Count [1].
 */
export class CompactConvProgram implements WebGPUProgramLike {
  variableNames = ['X', 'Filt', 'Idx', 'Count'];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout = { x: [0], y: [1] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [WORKGROUP, 1, 1];
  variableComponents?: number[];
  private readonly kernel: number;
  private readonly depthwise: boolean;
  private readonly layout: ChannelLayout;

  constructor(rows: number, outChannels: number, kernel: number, depthwise: boolean) {
    this.outputShape = [rows, outChannels];
    this.kernel = kernel;
    this.depthwise = depthwise;
    this.layout = channelLayout(outChannels);
    this.variableComponents = inputComponents(this.layout, depthwise, 2);
    this.shaderKey = `dynheadCompactConv_k${kernel}_${depthwise ? 'dw' : 'conv'}_cpt${this.layout.cpt}_v${this.layout.vec4 ? 4 : 1}`;
    this.dispatch = [Math.ceil(rows / WORKGROUP), outChannels / this.layout.cpt, 1];
  }

  getUserCode(): string {
    const cpt = this.layout.cpt;
    return `
fn main() {
  let h = uniforms.xShape[1];
  let w = uniforms.xShape[2];
  let cin = uniforms.xShape[3];
  let cout = uniforms.outShape[1];
  let row = i32(globalId.x);
  if (row >= i32(Count[0])) {
    return;
  }
  let pix = Idx[row];
  let b = pix / (h * w);
  let y = (pix - b * h * w) / w;
  let x = pix - (b * h + y) * w;
  let co0 = i32(workgroupId.y) * ${cpt};
  ${accDeclSnippet(this.layout)}
  ${convAtPixelSnippet(this.kernel, this.layout, this.depthwise)}
  ${accWriteSnippet('row * cout + co0', this.layout)}
}
`;
  }
}

/** Step 3: the dense [B,H,W,Cout] map: row Pos[pix] - 1 at active pixels, exact 0 elsewhere. */
export class ExpandRowsProgram implements WebGPUProgramLike {
  variableNames = ['Rows', 'Mask', 'Pos'];
  outputShape: number[];
  shaderKey = 'dynheadExpandRows';
  dispatchLayout = { x: [0, 1, 2, 3] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [WORKGROUP, 1, 1];
  size = true;

  constructor(outShape: number[]) {
    this.outputShape = outShape;
    this.dispatch = [Math.ceil(outShape.reduce((a, v) => a * v, 1) / WORKGROUP), 1, 1];
  }

  getUserCode(): string {
    return `
fn main(index : i32) {
  if (index < uniforms.size) {
    let cout = uniforms.outShape[3];
    let pix = index / cout;
    var v = 0.0;
    if (f32(Mask[pix]) > 0.0) {
      v = Rows[(i32(Pos[pix]) - 1) * cout + index - pix * cout];
    }
    setOutputAtIndex(index, v);
  }
}
`;
  }
}
