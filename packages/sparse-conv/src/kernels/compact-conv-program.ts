import {
  accDeclSnippet,
  accWriteSnippet,
  type ChannelLayout,
  channelLayout,
  convAtPixelSnippet,
  inputComponents,
  type WebGPUProgramLike,
} from './masked-conv-program';
import type { PyramidLayout } from '../pyramid';
import { type LevelExprs, pyramidShaderKey, pyramidUniformsOf, type UniformData } from './pyramid-uniforms';
import { elementwiseDispatch, mapPosSnippet, workgroupSumSnippet } from './webgpu-snippets';

const WORKGROUP = 64;
/** Pixels per block of the list's scan: each of a workgroup's 64 threads takes 4 in a row. */
const BLOCK = 256;

/** Blocks of the list's scan over P pixels. */
export function listBlocks(pixels: number): number {
  return Math.ceil(pixels / BLOCK);
}

// The compacted list of a mask's active pixels (Mask > 0, or with `dilate` any Mask > 0 in the
// pixel's 3x3 neighbourhood: the mask's 3x3 max-pool) is one int32 buffer of 1 + 2P values:
// [count, pixel of row 0 .. row count-1, (unwritten), row of pixel 0 .. P-1 (-1 where inactive)],
// built on the GPU in one or two dispatches in pixel order (the list a prefix sum of the mask
// would give). The mask is read as [B,H,W,1], or as a packed pyramid's [P,1] (pyramid.ts), whose
// levels the dilation keeps apart; the list's readers need only the list.

/**
 * Which lists a list buffer holds: one of the mask's active pixels ('plain'), one of its 3x3
 * max-pool's ('dilated'), or both, dilated first, in one buffer of 2 (1 + 2P) built in one dispatch
 * (a depth node's conv1 and conv2 lists from its gate).
 */
export type ListKind = 'plain' | 'dilated' | 'dilatedAndPlain';

/** Which list of its buffer a reader takes. */
export type ListPart = 'whole' | 'first' | 'second';

/** WGSL, at module scope: listAt(i), entry i of the reader's list, and listPixels(), its P. */
export function listReaderSnippet(part: ListPart): string {
  const size = part === 'whole' ? 'uniforms.listShape' : 'uniforms.listShape / 2';
  return `fn listAt(i : i32) -> i32 {
  return List[${part === 'second' ? 'uniforms.listShape / 2 + ' : ''}i];
}

fn listPixels() -> i32 {
  return (${size} - 1) / 2;
}`;
}

/**
 * WGSL opening both list programs: isOn(p, part), their workgroup memory, main(), the list part
 * (0, or 1 for the second of two), the block within it, its base in the output, and the thread.
 */
function blockHeaderSnippet(kind: ListKind, threads: number, levels: LevelExprs | undefined): string {
  const isOn = kind === 'dilatedAndPlain' ? 'select(isOnPlain(p), isOnDilated(p), part == 0)' : kind === 'dilated' ? 'isOnDilated(p)' : 'isOnPlain(p)';
  return `var<workgroup> partial : array<i32, ${threads}>;

fn isOnPlain(p : i32) -> bool {
  return f32(Mask[p]) > 0.0;
}

${mapPosSnippet(levels ?? { shape: 'uniforms.maskShape' })}

fn isOnDilated(p : i32) -> bool {
  let pos = mapPos(p);
  for (var dy = -1; dy <= 1; dy++) {
    if (pos.x + dy < 0 || pos.x + dy >= pos.z) {
      continue;
    }
    for (var dx = -1; dx <= 1; dx++) {
      if (pos.y + dx >= 0 && pos.y + dx < pos.w && f32(Mask[p + dy * pos.w + dx]) > 0.0) {
        return true;
      }
    }
  }
  return false;
}

fn isOn(p : i32, part : i32) -> bool {
  return ${isOn};
}

// index: tfjs passes the global thread index to programs with a flat dispatch; unused here
fn main(index : i32) {
  let pixels = uniforms.maskShape[0] * uniforms.maskShape[1] * uniforms.maskShape[2] * uniforms.maskShape[3];
  let blocks = ${kind === 'dilatedAndPlain' ? 'i32(numWorkgroups.x) / 2' : 'i32(numWorkgroups.x)'};
  let part = i32(workgroupId.x) / blocks;
  let blk = i32(workgroupId.x) - part * blocks;
  let base = part * (1 + 2 * pixels);
  let t = i32(localId.x);`;
}

/**
 * WGSL: how many of the thread's BLOCK / threads pixels are active (n); with 4 (a GPU's 64 threads)
 * also which (on), for the writes.
 */
function threadPixelsSnippet(threads: number): string {
  const ppt = BLOCK / threads;
  if (ppt !== 4) {
    return `var n = 0;
  for (var k = 0; k < ${ppt}; k++) {
    let p = blk * ${BLOCK} + t * ${ppt} + k;
    n += select(0, 1, p < pixels && isOn(p, part));
  }`;
  }
  return `var on = vec4<bool>(false);
  var n = 0;
  for (var k = 0; k < 4; k++) {
    let p = blk * ${BLOCK} + t * 4 + k;
    on[k] = p < pixels && isOn(p, part);
    n += select(0, 1, on[k]);
  }`;
}

/**
 * Threads of a list workgroup by default (a GPU): 4 pixels each. SwiftShader takes 4 threads of 64
 * pixels (webgpu-tuning.ts's DeviceTuning), since it switches between a workgroup's threads at
 * every barrier of the scan.
 */
export const LIST_THREADS = WORKGROUP;

/** Step 1a: the active pixels of each block of 256 -> Counts [blocks] int32 ([2 * blocks], dilated first, for both lists). */
export class BlockCountProgram implements WebGPUProgramLike {
  variableNames = ['Mask'];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout = { x: [0] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number];
  private readonly kind: ListKind;
  private readonly threads: number;
  private readonly levels?: LevelExprs;
  uniforms?: string;
  uniformData?: UniformData;

  /**
   * threads: of a block's workgroup, a power of 2 dividing BLOCK (LIST_THREADS, or SwiftShader's 4);
   * pyramid: the mask is a packed pyramid's (read as [1, P, 1, 1]).
   */
  constructor(pixels: number, kind: ListKind, threads = LIST_THREADS, pyramid?: PyramidLayout) {
    const lists = kind === 'dilatedAndPlain' ? 2 : 1;
    this.outputShape = [lists * listBlocks(pixels)];
    this.dispatch = [lists * listBlocks(pixels), 1, 1];
    this.kind = kind;
    this.threads = threads;
    if (pyramid) ({ levels: this.levels, uniforms: this.uniforms, uniformData: this.uniformData } = pyramidUniformsOf(pyramid));
    this.workgroupSize = [threads, 1, 1];
    this.shaderKey = `dynheadBlockCount_${kind}_${threads}_${pyramidShaderKey(pyramid)}`;
  }

  getUserCode(): string {
    return `
${blockHeaderSnippet(this.kind, this.threads, this.levels)}
  ${threadPixelsSnippet(this.threads)}
  partial[t] = n;
  ${workgroupSumSnippet(this.threads)}
  if (t == 0) {
    setOutputAtIndexI32(part * blocks + blk, partial[0]);
  }
}
`;
  }
}

/**
 * Blocks up to which the list may take one dispatch: each workgroup counts the active pixels before
 * its block itself, reading that part of the mask (at most 32768 values), instead of a count pass.
 * SwiftShader goes that far (a dispatch costs it more than the reads); a GPU stops at
 * GPU_ONE_PASS_LIST_BLOCKS, since its last workgroups' serial reads outlast the whole count pass.
 */
export const ONE_PASS_LIST_BLOCKS = 128;

/**
 * A GPU's one-pass bound: at 87 blocks (P3..P7 of 800x1333) the one-pass lists took an H200 0.45 ms
 * a dispatch (7.2 of a D8 Mid pass's 34 GPU ms, 2026-12-04); 4 blocks read at most 1024 values.
 */
export const GPU_ONE_PASS_LIST_BLOCKS = 4;

/**
 * Step 1b (or the only step, up to ONE_PASS_LIST_BLOCKS blocks): per block, its rows start after the
 * active pixels of the blocks before it, summed from Counts or, without them, from the mask itself; a
 * scan over the block's threads places each active pixel, writing both directions of the list
 * (row -> pixel for the conv, pixel -> row or -1 for the expansion); the last block writes the count.
 */
export class PixelListProgram implements WebGPUProgramLike {
  variableNames: string[];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout = { x: [0] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number];
  private readonly counted: boolean;
  private readonly kind: ListKind;
  private readonly threads: number;
  private readonly levels?: LevelExprs;
  uniforms?: string;
  uniformData?: UniformData;

  /**
   * counted: Counts [blocks] (BlockCountProgram) is the second input (one list only). threads: of
   * a block's workgroup, a power of 2 dividing BLOCK (LIST_THREADS, or SwiftShader's 4). pyramid:
   * the mask is a packed pyramid's (read as [1, P, 1, 1]).
   */
  constructor(pixels: number, counted: boolean, kind: ListKind, threads = LIST_THREADS, pyramid?: PyramidLayout) {
    if (!counted && listBlocks(pixels) > ONE_PASS_LIST_BLOCKS) throw new Error(`PixelListProgram: ${pixels} pixels need the block counts`);
    this.variableNames = counted ? ['Mask', 'Counts'] : ['Mask'];
    this.counted = counted;
    this.kind = kind;
    this.threads = threads;
    if (pyramid) ({ levels: this.levels, uniforms: this.uniforms, uniformData: this.uniformData } = pyramidUniformsOf(pyramid));
    this.workgroupSize = [threads, 1, 1];
    this.shaderKey = `dynheadPixelList_${counted}_${kind}_${threads}_${pyramidShaderKey(pyramid)}`;
    const lists = kind === 'dilatedAndPlain' ? 2 : 1;
    this.outputShape = [lists * (1 + 2 * pixels)];
    this.dispatch = [lists * listBlocks(pixels), 1, 1];
  }

  getUserCode(): string {
    const threads = this.threads;
    const ppt = BLOCK / threads;
    const before = this.counted
      ? `for (var j = t; j < blk; j += ${threads}) {
    before += Counts[part * blocks + j];
  }`
      : `for (var p = t; p < blk * ${BLOCK}; p += ${threads}) {
    before += select(0, 1, isOn(p, part));
  }`;
    // with 4 pixels a thread their flags were kept (on); with more they are read again
    const active = ppt === 4 ? 'on[k]' : 'p < pixels && isOn(p, part)';
    return `
${blockHeaderSnippet(this.kind, threads, this.levels)}
  // rows before this block
  var before = 0;
  ${before}
  partial[t] = before;
  ${workgroupSumSnippet(threads)}
  let offset = partial[0];
  workgroupBarrier();
  // this thread's pixels, then an inclusive scan of the threads' counts
  ${threadPixelsSnippet(threads)}
  partial[t] = n;
  workgroupBarrier();
  for (var step = 1; step < ${threads}; step *= 2) {
    var add = 0;
    if (t >= step) {
      add = partial[t - step];
    }
    workgroupBarrier();
    partial[t] += add;
    workgroupBarrier();
  }
  var row = offset + partial[t] - n;
  for (var k = 0; k < ${ppt}; k++) {
    let p = blk * ${BLOCK} + t * ${ppt} + k;
    if (${active}) {
      setOutputAtIndexI32(base + 1 + row, p);
      setOutputAtIndexI32(base + 1 + pixels + p, row);
      row++;
    } else if (p < pixels) {
      setOutputAtIndexI32(base + 1 + pixels + p, -1);
    }
  }
  if (blk == blocks - 1 && t == ${threads - 1}) {
    setOutputAtIndexI32(base, offset + partial[t]);
  }
}
`;
  }
}

/**
 * Step 2 (depthwise, or channels not a multiple of 4; else CompactGemmConvProgram): one thread per
 * listed pixel, so no thread idles on an inactive pixel. Dispatched for all P rows because the
 * count stays on the GPU (List[0]): whole workgroups past it exit at once. Output rows [P, Cout],
 * valid below the count. Inputs: X [B,H,W,Cin], Filt [k,k,Cin,Cout] (depthwise [k,k,C,1]), List.
 */
export class CompactConvProgram implements WebGPUProgramLike {
  variableNames = ['X', 'Filt', 'List'];
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
    this.variableComponents = inputComponents(this.layout, depthwise, 1);
    this.shaderKey = `dynheadCompactConv_k${kernel}_${depthwise ? 'dw' : 'conv'}_cpt${this.layout.cpt}_v${this.layout.vec4 ? 4 : 1}`;
    this.dispatch = [Math.ceil(rows / WORKGROUP), outChannels / this.layout.cpt, 1];
  }

  getUserCode(): string {
    const cpt = this.layout.cpt;
    return `
${listReaderSnippet('whole')}

fn main() {
  let h = uniforms.xShape[1];
  let w = uniforms.xShape[2];
  let cin = uniforms.xShape[3];
  let cout = uniforms.outShape[1];
  let row = i32(globalId.x);
  if (row >= listAt(0)) {
    return;
  }
  let pix = listAt(1 + row);
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

/** Step 3: the dense [B,H,W,Cout] map: the pixel's row (from the list) at active pixels, exact 0 elsewhere. */
export class ExpandRowsProgram implements WebGPUProgramLike {
  variableNames = ['Rows', 'List'];
  outputShape: number[];
  shaderKey = 'dynheadExpandRows';
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [64, 1, 1];
  size = true;

  constructor(outShape: number[]) {
    this.outputShape = outShape;
    ({ dispatchLayout: this.dispatchLayout, dispatch: this.dispatch } = elementwiseDispatch(outShape));
  }

  getUserCode(): string {
    return `
${listReaderSnippet('whole')}

fn main(index : i32) {
  if (index < uniforms.size) {
    let cout = uniforms.outShape[3];
    let pix = index / cout;
    let row = listAt(1 + listPixels() + pix);
    var v = 0.0;
    if (row >= 0) {
      v = Rows[row * cout + index - pix * cout];
    }
    setOutputAtIndex(index, v);
  }
}
`;
  }
}
