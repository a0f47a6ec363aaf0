import type { WebGPUProgramLike } from './masked-conv-program';
import { bilinearAddSnippet, channelQuadsLoopSnippet, channelQuadsSnippet, elementwiseDispatch, type Lanes, laneType, NEWLINE, sourceCoordSnippet } from './webgpu-snippets';

/**
 * A scale node's combine in one dispatch: X * XWeight + (A' + B') * SourceWeight over X's shape,
 * A' and B' the bilinear resizes of A and B ([B,h,w,C] each) to X's size, with tfjs's
 * ResizeBilinear sampling (no half-pixel centres; align corners as asked). B and SourceWeight are
 * optional (one source; the sum added as it is). Four channels at a time where C comes in fours (vec4
 * loads and arithmetic), and `quads` such groups a thread: the pixel, its sources' taps and weights
 * are worked out once for all of them.
 */
export class BlendResizedProgram implements WebGPUProgramLike {
  variableNames: string[];
  variableComponents: number[];
  outputComponent: number;
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [64, 1, 1];
  private readonly sources: string[];
  private readonly weighted: boolean;
  private readonly alignCorners: boolean;
  private readonly lanes: Lanes;
  private readonly quads: number;

  /** quads: groups of `lanes` channels of its pixel a thread takes in turn (the sampling worked out once for all). */
  constructor(shape: number[], twoSources: boolean, weighted: boolean, alignCorners: boolean, quads = 1) {
    this.sources = twoSources ? ['A', 'B'] : ['A'];
    this.variableNames = ['X', 'XWeight', ...this.sources, ...(weighted ? ['SourceWeight'] : [])];
    this.lanes = shape[3] % 4 === 0 ? 4 : 1;
    this.variableComponents = this.variableNames.map((n) => (n.endsWith('Weight') ? 1 : this.lanes));
    this.outputComponent = this.lanes;
    this.outputShape = shape;
    this.weighted = weighted;
    this.alignCorners = alignCorners;
    this.quads = quads;
    this.shaderKey = `dynheadBlendResized_${this.sources.length}_${weighted}_${alignCorners}_${this.lanes}_${quads}`;
    // a thread per `quads` groups of `lanes` channels of a pixel
    const [b, h, w, c] = shape;
    ({ dispatchLayout: this.dispatchLayout, dispatch: this.dispatch } = elementwiseDispatch([b * h * w * Math.ceil(c / this.lanes / quads)]));
  }

  getUserCode(): string {
    const k = this.lanes;
    const T = laneType(k);
    // per source: where its four taps lie and their weights, once per pixel
    const sampling = (s: string) => {
      const shape = `uniforms.${s.toLowerCase()}Shape`;
      return `let sy${s} = sourceCoord(y, ${shape}[1], h);
    let sx${s} = sourceCoord(x, ${shape}[2], w);
    let y0${s} = i32(floor(sy${s}));
    let x0${s} = i32(floor(sx${s}));
    let y1${s} = min(${shape}[1] - 1, i32(ceil(sy${s})));
    let x1${s} = min(${shape}[2] - 1, i32(ceil(sx${s})));
    let fy${s} = sy${s} - f32(y0${s});
    let fx${s} = sx${s} - f32(x0${s});
    let row0${s} = (n * ${shape}[1] + y0${s}) * ${shape}[2];
    let row1${s} = (n * ${shape}[1] + y1${s}) * ${shape}[2];
    let tl${s} = (row0${s} + x0${s}) * c;
    let tr${s} = (row0${s} + x1${s}) * c;
    let bl${s} = (row1${s} + x0${s}) * c;
    let br${s} = (row1${s} + x1${s}) * c;`;
    };
    const sample = (s: string) => `{
        let tl = ${s}[tl${s} + q];
        let tr = ${s}[tr${s} + q];
        let bl = ${s}[bl${s} + q];
        let br = ${s}[br${s} + q];
        ${bilinearAddSnippet(s)}
      }`;
    return `
${sourceCoordSnippet(this.alignCorners)}

fn main(index : i32) {
  let c = uniforms.outShape[3] / ${k};
  let w = uniforms.outShape[2];
  let h = uniforms.outShape[1];
  ${channelQuadsSnippet('pixel', 'c', this.quads)}
  if (index < uniforms.outShape[0] * h * w * qBlocks) {
    let x = pixel % w;
    let y = (pixel / w) % h;
    let n = pixel / (w * h);
    ${this.sources.map(sampling).join(NEWLINE + '    ')}
    ${channelQuadsLoopSnippet(
      'c',
      this.quads,
      `var sum = ${T}(0.0);
      ${this.sources.map(sample).join(NEWLINE + '      ')}
      setOutputAtIndex(pixel * c + q, ${this.weighted ? 'sum * SourceWeight[0]' : 'sum'} + X[pixel * c + q] * XWeight[0]);`,
    )}
  }
}
`;
  }
}
