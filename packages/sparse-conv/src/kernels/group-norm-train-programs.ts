import { elementwiseDispatch, f32Literal, workgroupSumSnippet } from './webgpu-snippets';
import type { WebGPUProgramLike } from './masked-conv-program';

// Training GroupNorm on webgpu: two programs forward (statistics, then the normalisation) and four
// back (per-channel sums, dx, dgamma, dbeta), where tfjs's ops took about 28 dispatches a norm,
// forward and backward. A map is x [B,H,W,C]; Stats [B, G, 2] holds each (image, group)'s mean
// and 1 / std, as the cpu and wasm kernels' do.

/** WGSL: b, ch, g of element `index` of a map [B,H,W,C] with G groups; hw, c, cg declared too. */
function elementSnippet(groups: number): string {
  return `let c = uniforms.xShape[3];
    let hw = uniforms.xShape[1] * uniforms.xShape[2];
    let cg = c / ${groups};
    let ch = index % c;
    let b = index / (hw * c);
    let g = ch / cg;
    let mean = Stats[(b * ${groups} + g) * 2];
    let rstd = Stats[(b * ${groups} + g) * 2 + 1];`;
}

/**
 * The statistics: one workgroup per (image, group) reads the group's values twice, for their mean
 * and then the mean of the squared deviations (the two passes of tf.moments, so no cancellation),
 * -> Stats [B, G, 2] = (mean, 1 / sqrt(variance + eps)).
 */
export class GroupNormTrainStatsProgram implements WebGPUProgramLike {
  variableNames = ['X'];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout = { x: [2], y: [1], z: [0] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number];

  constructor(
    batch: number,
    private readonly groups: number,
    private readonly eps: number,
    private readonly threads: number,
  ) {
    this.outputShape = [batch, groups, 2];
    this.shaderKey = `dynheadGroupNormTrainStats_${groups}_${f32Literal(eps)}_${threads}`;
    this.workgroupSize = [threads, 1, 1];
    this.dispatch = [1, groups, batch];
  }

  getUserCode(): string {
    const T = this.threads;
    const loop = (body: string) => `for (var e = t; e < n; e += ${T}) {
    let v = X[base + (e / cg) * c + e % cg];
    ${body}
  }`;
    return `
var<workgroup> partial : array<f32, ${T}>;

fn main() {
  let c = uniforms.xShape[3];
  let hw = uniforms.xShape[1] * uniforms.xShape[2];
  let cg = c / ${this.groups};
  let g = i32(workgroupId.y);
  let b = i32(workgroupId.z);
  let t = i32(localId.x);
  let n = hw * cg;
  let base = b * hw * c + g * cg;
  var s = 0.0;
  ${loop('s += v;')}
  partial[t] = s;
  ${workgroupSumSnippet(T)}
  let mean = partial[0] / f32(n);
  // every thread has read the sum before partial is reused
  workgroupBarrier();
  var q = 0.0;
  ${loop('let d = v - mean;\n    q += d * d;')}
  partial[t] = q;
  ${workgroupSumSnippet(T)}
  if (t == 0) {
    setOutputAtIndex((b * ${this.groups} + g) * 2, mean);
    setOutputAtIndex((b * ${this.groups} + g) * 2 + 1, 1.0 / sqrt(partial[0] / f32(n) + ${f32Literal(this.eps)}));
  }
}
`;
  }
}

/**
 * A thread per element of a map [B,H,W,C] (the output's shape), its body in scope of the element's
 * image b, channel ch, group g and that group's mean and rstd (elementSnippet).
 */
abstract class PerElementProgram implements WebGPUProgramLike {
  abstract variableNames: string[];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [64, 1, 1];
  size = true;

  constructor(
    shape: number[],
    private readonly groups: number,
    name: string,
  ) {
    this.outputShape = shape;
    this.shaderKey = `dynheadGroupNormTrain${name}_${groups}`;
    ({ dispatchLayout: this.dispatchLayout, dispatch: this.dispatch } = elementwiseDispatch(shape));
  }

  /** WGSL writing the element's output. */
  protected abstract body(): string;

  getUserCode(): string {
    return `
fn main(index : i32) {
  if (index < uniforms.size) {
    ${elementSnippet(this.groups)}
    ${this.body()}
  }
}
`;
  }
}

/** y = (x - mean) * rstd * gamma + beta. */
export class GroupNormTrainApplyProgram extends PerElementProgram {
  variableNames = ['X', 'Stats', 'Gamma', 'Beta'];

  constructor(shape: number[], groups: number) {
    super(shape, groups, 'Apply');
  }

  protected body(): string {
    return 'setOutputAtIndex(index, (X[index] - mean) * rstd * Gamma[ch] + Beta[ch]);';
  }
}

/**
 * Backward pass 1: one workgroup per (channel, image) sums dy and dy * x̂ over the image's pixels
 * -> Sums [B, 2, C]. Everything else of the gradient follows from these: dbeta and dgamma add them
 * over the images, and a group's means of dx̂ = dy * gamma and dx̂ * x̂ weigh them by gamma.
 */
export class GroupNormTrainGradSumsProgram implements WebGPUProgramLike {
  variableNames = ['Dy', 'X', 'Stats'];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout = { x: [2], y: [1], z: [0] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number];

  constructor(
    batch: number,
    channels: number,
    private readonly groups: number,
    private readonly threads: number,
  ) {
    this.outputShape = [batch, 2, channels];
    this.shaderKey = `dynheadGroupNormTrainGradSums_${groups}_${threads}`;
    this.workgroupSize = [threads, 1, 1];
    this.dispatch = [channels, 1, batch];
  }

  getUserCode(): string {
    const T = this.threads;
    return `
var<workgroup> partial : array<vec2<f32>, ${T}>;

fn main() {
  let c = uniforms.xShape[3];
  let hw = uniforms.xShape[1] * uniforms.xShape[2];
  let ch = i32(workgroupId.x);
  let b = i32(workgroupId.z);
  let t = i32(localId.x);
  let g = ch / (c / ${this.groups});
  let mean = Stats[(b * ${this.groups} + g) * 2];
  let rstd = Stats[(b * ${this.groups} + g) * 2 + 1];
  var s = vec2<f32>(0.0);
  for (var p = t; p < hw; p += ${T}) {
    let i = (b * hw + p) * c + ch;
    let d = Dy[i];
    s += vec2<f32>(d, d * ((X[i] - mean) * rstd));
  }
  partial[t] = s;
  ${workgroupSumSnippet(T)}
  if (t == 0) {
    setOutputAtIndex(b * 2 * c + ch, partial[0].x);
    setOutputAtIndex((b * 2 + 1) * c + ch, partial[0].y);
  }
}
`;
  }
}

/**
 * Backward pass 2: dx = rstd * (dx̂ - mean(dx̂) - x̂ * mean(dx̂ * x̂)) over the (image, group), a
 * thread per element; each adds its group's channel sums (C / G of them) weighed by gamma.
 */
export class GroupNormTrainGradInputProgram extends PerElementProgram {
  variableNames = ['Dy', 'X', 'Stats', 'Gamma', 'Sums'];

  constructor(shape: number[], groups: number) {
    super(shape, groups, 'GradInput');
  }

  protected body(): string {
    return `var sumDxHat = 0.0;
    var sumDxHatXHat = 0.0;
    for (var j = 0; j < cg; j++) {
      let q = g * cg + j;
      sumDxHat += Gamma[q] * Sums[b * 2 * c + q];
      sumDxHatXHat += Gamma[q] * Sums[(b * 2 + 1) * c + q];
    }
    let n = f32(hw * cg);
    let xHat = (X[index] - mean) * rstd;
    setOutputAtIndex(index, rstd * (Dy[index] * Gamma[ch] - sumDxHat / n - xHat * (sumDxHatXHat / n)));`;
  }
}

/** Backward pass 3: row `row` of Sums [B, 2, C] added over the images -> [C] (row 0: dbeta, row 1: dgamma). */
export class GroupNormTrainParamGradProgram implements WebGPUProgramLike {
  variableNames = ['Sums'];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [64, 1, 1];
  size = true;

  constructor(channels: number, private readonly row: 0 | 1) {
    this.outputShape = [channels];
    this.shaderKey = `dynheadGroupNormTrainParamGrad_${row}`;
    ({ dispatchLayout: this.dispatchLayout, dispatch: this.dispatch } = elementwiseDispatch([channels]));
  }

  getUserCode(): string {
    return `
fn main(index : i32) {
  if (index < uniforms.size) {
    let c = uniforms.sumsShape[2];
    var s = 0.0;
    for (var b = 0; b < uniforms.sumsShape[0]; b++) {
      s += Sums[(b * 2 + ${this.row}) * c + index];
    }
    setOutputAtIndex(index, s);
  }
}
`;
  }
}
