import type { WebGPUProgramLike } from './masked-conv-program';
import { elementwiseDispatch, workgroupSumSnippet } from './webgpu-snippets';

/** A float32 constant as WGSL parses it back to the same float32. */
function f32Literal(v: number): string {
  return Math.fround(v).toPrecision(9);
}

/** Threads of a partial-sums workgroup, and the rows of its chunk of one image and group. */
const THREADS = 64;
export const CHUNK_ROWS = 2048;

/**
 * The shift every sum of an (image, group) is taken around: x at the image's first row and the
 * group's first channel (0 for an empty image). Near the mean, so sums of squares keep their
 * digits for maps far from zero; the same value in every chunk and in the combine.
 */
function shiftSnippet(): string {
  return `let shiftX = select(0.0, f32(X[r0 * c + g * cg]), Starts[b + 1] > r0);`;
}

/**
 * WGSL: from s = (count, sum d, sum d^2) of an (image b, group g), write the affine form of the
 * apply pass for channels first, first + step, ... of the group: (centre, shift, gamma / sqrt(var +
 * eps), beta), so that y = ((x - centre) + shift) * scale + beta; x - centre is exact near the mean.
 */
function affineSnippet(eps: number, bias: boolean, first: string, step: string): string {
  return `let count = max(s.x, 1.0);
  let mean = s.y / count;
  let variance = max(s.z / count - mean * mean, 0.0);
  let sd = sqrt(variance + ${f32Literal(eps)});
  for (var j = ${first}; j < cg; j += ${step}) {
    let ch = g * cg + j;
    let base = (b * c + ch) * 4;
    setOutputAtIndex(base, shiftX);
    setOutputAtIndex(base + 1, ${bias ? '(Bias[ch] - Bias[g * cg]) - mean' : '-mean'});
    setOutputAtIndex(base + 2, Gamma[ch] / sd);
    setOutputAtIndex(base + 3, Beta[ch]);
  }`;
}

/**
 * Pass 1 of 3 of GroupNorm over rows X [R, C] grouped into images (image b = rows Starts[b] ..
 * Starts[b+1]-1), with Bias [C] added first and, when masked, only rows with Mask > 0 counted: per
 * (chunk of CHUNK_ROWS rows, group, image), [count, sum d, sum d^2, 0] of d = x + bias - shift.
 * Many workgroups per group, so a big map is read at the device's speed, not one workgroup's.
 * With `affine` (every image within one chunk) it writes the combine's output itself: one
 * dispatch fewer for the small FPN levels.
 */
export class GroupNormPartialsProgram implements WebGPUProgramLike {
  variableNames: string[];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout = { x: [2], y: [1], z: [0] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [THREADS, 1, 1];
  private readonly groups: number;
  private readonly bias: boolean;
  private readonly masked: boolean;
  private readonly affine: { channels: number; eps: number } | null;

  constructor(batch: number, groups: number, chunks: number, bias: boolean, masked: boolean, affine: { channels: number; eps: number } | null = null) {
    this.variableNames = ['X', 'Starts', ...(bias ? ['Bias'] : []), ...(masked ? ['Mask'] : []), ...(affine ? ['Gamma', 'Beta'] : [])];
    this.outputShape = affine ? [batch, affine.channels, 4] : [batch, groups, chunks, 4];
    this.groups = groups;
    this.bias = bias;
    this.masked = masked;
    if (affine && chunks !== 1) throw new Error('GroupNormPartialsProgram: the affine form needs every image in one chunk');
    this.affine = affine;
    this.shaderKey = `dynheadGroupNormPartials_${groups}_${bias}_${masked}_${affine ? f32Literal(affine.eps) : 'sums'}`;
    this.dispatch = [chunks, groups, batch];
  }

  getUserCode(): string {
    const counted = this.masked ? 'f32(Mask[row]) > 0.0' : 'true';
    const biasShift = this.bias ? ' + (Bias[ch] - Bias[g * cg])' : '';
    return `
var<workgroup> partial : array<vec3<f32>, ${THREADS}>;

fn main() {
  let c = uniforms.xShape[1];
  let cg = c / ${this.groups};
  let chunk = i32(workgroupId.x);
  let g = i32(workgroupId.y);
  let b = i32(workgroupId.z);
  let t = i32(localId.x);
  let r0 = Starts[b];
  ${shiftSnippet()}
  let first = r0 + chunk * ${CHUNK_ROWS};
  let last = min(first + ${CHUNK_ROWS}, Starts[b + 1]);
  let n = max(last - first, 0) * cg;
  var s = vec3<f32>(0.0);
  for (var e = t; e < n; e += ${THREADS}) {
    let row = first + e / cg;
    let ch = g * cg + e % cg;
    if (${counted}) {
      let d = (f32(X[row * c + ch]) - shiftX)${biasShift};
      s += vec3<f32>(1.0, d, d * d);
    }
  }
  partial[t] = s;
  ${workgroupSumSnippet(THREADS)}
  ${this.affine ? this.affineTail(this.affine.eps) : this.sumsTail()}
}
`;
  }

  private sumsTail(): string {
    return `if (t == 0) {
    let base = ((b * ${this.groups} + g) * i32(numWorkgroups.x) + chunk) * 4;
    setOutputAtIndex(base, partial[0].x);
    setOutputAtIndex(base + 1, partial[0].y);
    setOutputAtIndex(base + 2, partial[0].z);
    setOutputAtIndex(base + 3, 0.0);
  }`;
  }

  private affineTail(eps: number): string {
    return `s = partial[0];
  ${affineSnippet(eps, this.bias, 't', String(THREADS))}`;
  }
}

/**
 * Pass 2 of 3: one thread per (image, group) adds its chunks' sums and writes, for each channel of
 * the group, the affine form of the apply pass: (centre, shift, gamma / sqrt(var + eps), beta) ->
 * [B, C, 4], so that y = ((x - centre) + shift) * scale + beta; x - centre is exact near the mean.
 */
export class GroupNormCombineProgram implements WebGPUProgramLike {
  variableNames: string[];
  variableComponents: number[];
  outputShape: number[];
  shaderKey: string;
  // flat: tfjs passes main() the global thread index
  dispatchLayout = { x: [0, 1, 2] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [64, 1, 1];
  private readonly groups: number;
  private readonly eps: number;
  private readonly bias: boolean;

  constructor(batch: number, channels: number, groups: number, eps: number, bias: boolean) {
    this.variableNames = ['Partials', 'X', 'Starts', 'Gamma', 'Beta', ...(bias ? ['Bias'] : [])];
    this.variableComponents = this.variableNames.map((n) => (n === 'Partials' ? 4 : 1));
    this.outputShape = [batch, channels, 4];
    this.groups = groups;
    this.eps = eps;
    this.bias = bias;
    this.shaderKey = `dynheadGroupNormCombine_${groups}_${f32Literal(eps)}_${bias}`;
    this.dispatch = [Math.ceil((batch * groups) / 64), 1, 1];
  }

  getUserCode(): string {
    return `
fn main(id : i32) {
  let c = uniforms.xShape[1];
  let cg = c / ${this.groups};
  let chunks = uniforms.partialsShape[2];
  if (id >= uniforms.outShape[0] * ${this.groups}) {
    return;
  }
  let b = id / ${this.groups};
  let g = id % ${this.groups};
  let r0 = Starts[b];
  ${shiftSnippet()}
  var s = vec3<f32>(0.0);
  for (var k = 0; k < chunks; k++) {
    s += Partials[id * chunks + k].xyz;
  }
  ${affineSnippet(this.eps, this.bias, '0', '1')}
}
`;
  }
}

/**
 * The apply pass over X [R, C]: ((x - centre) + shift) * scale + beta from Affine [B, C, 4] of the
 * row's image, then ReLU, times RowScale [R], and exact 0 where Mask <= 0, as the ops path orders them.
 */
export class GroupNormApplyProgram implements WebGPUProgramLike {
  variableNames: string[];
  variableComponents: number[];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [64, 1, 1];
  size = true;
  private readonly relu: boolean;
  private readonly rowScale: boolean;
  private readonly masked: boolean;

  /** outShape: x's own shape (the program reads x as [R, C] rows and writes flat indices). */
  constructor(outShape: number[], relu: boolean, rowScale: boolean, masked: boolean) {
    this.variableNames = ['X', 'Affine', 'Starts', ...(rowScale ? ['RowScale'] : []), ...(masked ? ['Mask'] : [])];
    this.variableComponents = this.variableNames.map((n) => (n === 'Affine' ? 4 : 1));
    this.outputShape = outShape;
    this.relu = relu;
    this.rowScale = rowScale;
    this.masked = masked;
    this.shaderKey = `dynheadGroupNormApply_${relu}_${rowScale}_${masked}`;
    ({ dispatchLayout: this.dispatchLayout, dispatch: this.dispatch } = elementwiseDispatch(outShape));
  }

  getUserCode(): string {
    return `
fn main(index : i32) {
  if (index < uniforms.size) {
    let c = uniforms.xShape[1];
    let row = index / c;
    let ch = index - row * c;
    var b = 0;
    for (var i = 1; i < uniforms.affineShape[0]; i++) {
      if (row >= Starts[i]) {
        b = i;
      }
    }
    let a = Affine[b * c + ch];
    var y = ((f32(X[index]) - a.x) + a.y) * a.z + a.w;
    ${this.relu ? 'y = max(y, 0.0);' : ''}
    ${this.rowScale ? 'y = y * f32(RowScale[row]);' : ''}
    ${this.masked ? 'if (!(f32(Mask[row]) > 0.0)) {\n      y = 0.0;\n    }' : ''}
    setOutputAtIndex(index, y);
  }
}
`;
  }
}
