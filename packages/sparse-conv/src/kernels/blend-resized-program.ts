import type { WebGPUProgramLike } from './masked-conv-program';
import { elementwiseDispatch, type Lanes, laneType } from './webgpu-snippets';

/**
 * A scale node's combine in one dispatch: X * XWeight + (A' + B') * SourceWeight over X's shape,
 * A' and B' the bilinear resizes of A and B ([B,h,w,C] each) to X's size, with tfjs's
 * ResizeBilinear sampling (no half-pixel centres; align corners as asked). B and SourceWeight are
 * optional (one source; the sum added as it is). Four channels a thread where C comes in fours (vec4
 * loads and arithmetic: the pixel and source coordinates are worked out once for the four).
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
  size = true;
  private readonly sources: string[];
  private readonly weighted: boolean;
  private readonly alignCorners: boolean;
  private readonly lanes: Lanes;

  constructor(shape: number[], twoSources: boolean, weighted: boolean, alignCorners: boolean) {
    this.sources = twoSources ? ['A', 'B'] : ['A'];
    this.variableNames = ['X', 'XWeight', ...this.sources, ...(weighted ? ['SourceWeight'] : [])];
    this.lanes = shape[3] % 4 === 0 ? 4 : 1;
    this.variableComponents = this.variableNames.map((n) => (n.endsWith('Weight') ? 1 : this.lanes));
    this.outputComponent = this.lanes;
    this.outputShape = shape;
    this.weighted = weighted;
    this.alignCorners = alignCorners;
    this.shaderKey = `dynheadBlendResized_${this.sources.length}_${weighted}_${alignCorners}_${this.lanes}`;
    // a thread per `lanes` channels; tfjs's uniforms.size counts them too
    ({ dispatchLayout: this.dispatchLayout, dispatch: this.dispatch } = elementwiseDispatch([shape.reduce((a, v) => a * v, 1) / this.lanes]));
  }

  getUserCode(): string {
    const k = this.lanes;
    const T = laneType(k);
    const sample = (s: string) => `sum += resized${s}(n, y, x, ch);`;
    const samplers = this.sources
      .map((s) => {
        const shape = `uniforms.${s.toLowerCase()}Shape`;
        return `
fn resized${s}(n : i32, y : i32, x : i32, ch : i32) -> ${T} {
  let inH = ${shape}[1];
  let inW = ${shape}[2];
  let c = ${shape}[3] / ${k};
  let sy = sourceCoord(y, inH, uniforms.outShape[1]);
  let sx = sourceCoord(x, inW, uniforms.outShape[2]);
  let y0 = i32(floor(sy));
  let x0 = i32(floor(sx));
  let y1 = min(inH - 1, i32(ceil(sy)));
  let x1 = min(inW - 1, i32(ceil(sx)));
  let fy = sy - f32(y0);
  let fx = sx - f32(x0);
  let base = n * inH;
  let tl = ${s}[((base + y0) * inW + x0) * c + ch];
  let tr = ${s}[((base + y0) * inW + x1) * c + ch];
  let bl = ${s}[((base + y1) * inW + x0) * c + ch];
  let br = ${s}[((base + y1) * inW + x1) * c + ch];
  let top = tl + (tr - tl) * fx;
  let bottom = bl + (br - bl) * fx;
  return top + (bottom - top) * fy;
}`;
      })
      .join('\n');
    return `
fn sourceCoord(o : i32, inSize : i32, outSize : i32) -> f32 {
  var effIn = f32(inSize);
  var effOut = f32(outSize);
  ${this.alignCorners ? 'if (outSize > 1) {\n    effIn = effIn - 1.0;\n    effOut = effOut - 1.0;\n  }' : ''}
  return effIn / effOut * f32(o);
}
${samplers}

fn main(index : i32) {
  if (index < uniforms.size) {
    let c = uniforms.outShape[3] / ${k};
    let w = uniforms.outShape[2];
    let h = uniforms.outShape[1];
    let ch = index % c;
    let x = (index / c) % w;
    let y = (index / (c * w)) % h;
    let n = index / (c * w * h);
    var sum = ${T}(0.0);
    ${this.sources.map(sample).join('\n    ')}
    setOutputAtIndex(index, ${this.weighted ? 'sum * SourceWeight[0]' : 'sum'} + X[index] * XWeight[0]);
  }
}
`;
  }
}
