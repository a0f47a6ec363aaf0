import {
  accDeclSnippet,
  accWriteSnippet,
  type ChannelLayout,
  channelLayout,
  convAtPixelSnippet,
  inputComponents,
  type WebGPUProgramLike,
} from './masked-conv-program';

const ROWS_PER_WORKGROUP = 64;

/**
 * The compacted-index-list alternative to MaskedConvProgram: one thread per ACTIVE pixel (Idx, int32
 * [N] flat pixel indices read from the mask on the CPU), so no thread idles on an inactive pixel,
 * at the price of a mask readback and a scatter. Output rows [N, Cout].
 * Inputs: X [B,H,W,Cin], Filt [k,k,Cin,Cout] (depthwise [k,k,C,1]), Idx [N].
 */
export class CompactConvProgram implements WebGPUProgramLike {
  variableNames = ['X', 'Filt', 'Idx'];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout = { x: [0], y: [1] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [ROWS_PER_WORKGROUP, 1, 1];
  variableComponents?: number[];
  private readonly kernel: number;
  private readonly depthwise: boolean;
  private readonly layout: ChannelLayout;

  constructor(rows: number, outChannels: number, kernel: number, depthwise: boolean) {
    this.outputShape = [rows, outChannels];
    this.kernel = kernel;
    this.depthwise = depthwise;
    this.layout = channelLayout(outChannels);
    this.variableComponents = inputComponents(this.layout, depthwise);
    this.shaderKey = `dynheadCompactConv_k${kernel}_${depthwise ? 'dw' : 'conv'}_cpt${this.layout.cpt}_v${this.layout.vec4 ? 4 : 1}`;
    this.dispatch = [Math.ceil(rows / ROWS_PER_WORKGROUP), outChannels / this.layout.cpt, 1];
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
  if (row >= uniforms.outShape[0]) {
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
