// GroupNorm's statistics on a GPU: partial sums per chunk of a run (GroupNormPartialsProgram) and
// their combine into each run's scale and shift (GroupNormCombineProgram).
import type { WebGPUProgramLike } from './masked-conv-program';
import { ProgramUniforms, type UniformData } from './pyramid-uniforms';
import { f32Literal } from './webgpu-snippets';
import { carrySnippet, type GateCarry, laneComponents, momentsAffine, momentsSnippet, normParams, pairUniforms, sourceVariables, type StatsOptions, statsProgramHead, statsShaderKey } from './group-norm-snippets';

/**
 * Pass 1 of 3 of GroupNorm over the rows of a map (image b = rows Starts[b] .. Starts[b+1]-1, read
 * through the source), with Bias [C] added first and, when masked, only rows with Mask > 0
 * counted: per (chunk of CHUNK_ROWS rows, group, image), [count, sum d, sum d^2, shift] of
 * d = x + bias - shift. Many workgroups per group, so a big map is read at the device's speed, not
 * one workgroup's. `carry`: `values` values of X ahead of the rows Starts counts, every `stride`-th
 * from its first, are copied to the output's first `rows` rows of C, the sums after them, output [rows * C / 4 + B * groups *
 * chunks, 4] (the scale node's gates, carried out of the big map for the blend that combines the
 * sums itself, so that their charge keeps only this small buffer alive).
 */
export class GroupNormPartialsProgram implements WebGPUProgramLike {
  variableNames: string[];
  variableComponents: number[];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout = { x: [2], y: [1], z: [0] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number];
  uniforms?: string;
  uniformData?: UniformData;
  private readonly o: StatsOptions;
  private readonly carry?: { values: string; offset: string; stride: number };

  constructor(batch: number, chunks: number, o: StatsOptions, carry?: GateCarry & { channels: number }) {
    this.variableNames = ['X', 'Starts', ...(o.bias ? ['Bias'] : []), ...sourceVariables(o.source, o.masked)];
    this.variableComponents = laneComponents(this.variableNames, o.lanes);
    this.outputShape = carry ? [(carry.rows * carry.channels) / 4 + batch * o.groups * chunks, 4] : [batch, o.groups, chunks, 4];
    this.o = o;
    if (carry) {
      if (typeof o.source !== 'string' || o.source === 'depthwise' || carry.channels % 4 !== 0) throw new Error('GroupNormPartialsProgram: carry reads the head of a map of rows (channels a multiple of 4)');
      const u = new ProgramUniforms();
      this.carry = { values: u.add('carryValues', carry.values), offset: u.add('carryOffset', carry.rows * carry.channels), stride: carry.stride };
      [this.uniforms, this.uniformData] = [u.declaration, u.data];
    }
    this.shaderKey = `dynheadGroupNormPartials_${statsShaderKey(o)}_${carry?.stride ?? 0}`;
    this.workgroupSize = [o.threads, 1, 1];
    this.dispatch = [chunks, o.groups, batch];
  }

  getUserCode(): string {
    const k = this.o.lanes;
    // X's head: every thread of the dispatch takes its share
    const threadId = `((b * ${this.o.groups} + g) * i32(numWorkgroups.x) + chunk) * ${this.o.threads} + t`;
    const threadCount = `i32(numWorkgroups.x * numWorkgroups.y * numWorkgroups.z) * ${this.o.threads}`;
    const carry = this.carry ? carrySnippet(this.carry, threadId, threadCount, (at) => (k === 1 ? `X[${at}]` : `X[${at} / ${k}][${at} % ${k}]`)) : '';
    return `
${statsProgramHead(this.o)}
  ${carry}if (t == 0) {
    let base = ${this.carry ? `${this.carry.offset} + ` : ''}((b * ${this.o.groups} + g) * i32(numWorkgroups.x) + chunk) * 4;
    setOutputAtIndex(base, partial[0].x);
    setOutputAtIndex(base + 1, partial[0].y);
    setOutputAtIndex(base + 2, partial[0].z);
    setOutputAtIndex(base + 3, shiftX);
  }
}
`;
  }
}

/**
 * What GroupNormCombineProgram takes of the statistics' options, and `normSets`: with pairRun, the
 * parameter sets Norm holds (default 2), every pairRun runs taking the next.
 */
export type CombineOptions = Pick<StatsOptions, 'groups' | 'bias' | 'pairRun'> & { normSets?: number };

/**
 * Pass 2 of 3: one thread per (image, group) adds its chunks' sums and writes, for each channel of
 * the group, the affine form of the apply pass -> [B, 4, C] (centre, shift, scale, beta, each a row
 * over the channels, so the apply pass reads k channels' of each at once). The shift comes with the
 * sums, so the map's buffers are not bound (a stage may bind only 8). `scaleShift`: [B, 2, C], the
 * form y = x * scale + shift (a GEMM applies it as it stages its input: two reads, one fma), which
 * keeps fewer digits than the centred form where a group's mean is far from 0 next to its sd.
 * `carry` (scaleShift only): `values` values of a last input Carry, every `stride`-th from its
 * first, are copied to the output's first `rows` rows of C, the affine form after them (the scale node's gates, carried out
 * of the big buffer they were written in, so that their charge keeps only this small one alive).
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
  private readonly o: CombineOptions;
  private readonly eps: number;
  uniforms?: string;
  uniformData?: UniformData;

  private readonly scaleShift: boolean;
  private readonly carry?: { values: string; offset: string; runs: string; stride: number };

  constructor(batch: number, channels: number, eps: number, o: CombineOptions, scaleShift = false, carry?: GateCarry) {
    if (o.normSets !== undefined && !(o.pairRun !== undefined && Number.isInteger(o.normSets) && o.normSets >= 2)) throw new Error(`GroupNormCombineProgram: normSets (${o.normSets}) needs pairRun and a whole number from 2`);
    if (carry && !scaleShift) throw new Error('GroupNormCombineProgram: carry needs the scale-and-shift form');
    this.variableNames = ['Partials', ...normParams(o.pairRun), ...(o.bias ? ['Bias'] : []), ...(carry ? ['Carry'] : [])];
    this.variableComponents = this.variableNames.map((n) => (n === 'Partials' ? 4 : 1));
    this.outputShape = carry ? [carry.rows + batch * 2, channels] : [batch, scaleShift ? 2 : 4, channels];
    this.o = o;
    this.eps = eps;
    this.scaleShift = scaleShift;
    const u = new ProgramUniforms();
    if (carry) this.carry = { values: u.add('carryValues', carry.values), offset: u.add('carryOffset', carry.rows * channels), runs: u.add('runs', batch), stride: carry.stride };
    ({ uniforms: this.uniforms, uniformData: this.uniformData } = pairUniforms(o.pairRun, u));
    const sets = (o.normSets ?? 2) === 2 ? '' : `x${o.normSets}`;
    this.shaderKey = `dynheadGroupNormCombine_${f32Literal(eps)}_${o.groups}_${o.bias}_${o.pairRun !== undefined}${sets}_${scaleShift}_${carry?.stride ?? 0}`;
    this.dispatch = [Math.ceil((batch * o.groups) / 64), 1, 1];
  }

  getUserCode(): string {
    const groups = this.o.groups;
    // one channel at a time (k = 1): Gamma, Beta and Bias are read per channel here
    const sets = this.o.normSets ?? 2;
    const a = momentsAffine(1, this.o.bias, this.o.pairRun !== undefined, sets);
    const at = this.carry ? `${this.carry.offset} + ` : '';
    // before any thread returns below
    const carry = this.carry ? carrySnippet(this.carry, 'id', 'i32(numWorkgroups.x) * 64', (at) => `Carry[${at}]`) : '';
    return `
fn main(id : i32) {
  ${carry}let c = ${this.o.pairRun === undefined ? 'uniforms.gammaShape' : `uniforms.normShape / ${2 * sets}`};
  let cg = c / ${groups};
  let gq = cg;
  let chunks = uniforms.partialsShape[2];
  if (id >= ${this.carry ? this.carry.runs : 'uniforms.outShape[0]'} * ${groups}) {
    return;
  }
  let b = id / ${groups};
  let g = id % ${groups};
  let shiftX = Partials[id * chunks].w;
  var s = vec3<f32>(0.0);
  for (var k = 0; k < chunks; k++) {
    s += Partials[id * chunks + k].xyz;
  }
  ${momentsSnippet(this.eps)}
  for (var j = 0; j < cg; j++) {
    let q = g * cg + j;
    ${this.scaleShift ? `let scale = ${a.scale};
    setOutputAtIndex(${at}(b * 2) * c + q, scale);
    setOutputAtIndex(${at}(b * 2 + 1) * c + q, (${a.shift} - ${a.centre}) * scale + ${a.beta});` : `setOutputAtIndex((b * 4) * c + q, ${a.centre});
    setOutputAtIndex((b * 4 + 1) * c + q, ${a.shift});
    setOutputAtIndex((b * 4 + 2) * c + q, ${a.scale});
    setOutputAtIndex((b * 4 + 3) * c + q, ${a.beta});`}
  }
}
`;
  }
}
