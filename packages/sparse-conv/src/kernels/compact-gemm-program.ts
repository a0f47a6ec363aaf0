import { type ListPart, listReaderSnippet } from './compact-conv-program';
import type { WebGPUProgramLike } from './masked-conv-program';

/** Rows (active pixels) and output channels of the tile one workgroup computes. */
const TILE_ROWS = 64;
const TILE_COLS = 64;
/** Reduction depth (taps x input channels) staged in workgroup memory per step. */
const TILE_K = 16;
/** Rows up to which a tile is computed without staging (a row per thread row of the workgroup). */
const DIRECT_ROWS = 16;

const NEWLINE = String.fromCharCode(10);

/**
 * WGSL: the step's multiply-adds of this thread's rows against the staged tiles, unrolled into
 * acc0..acc3 (SwiftShader keeps a private array in memory: an indexed accumulator cost 3x in the gate
 * conv); with `partial`, only the rows below rowsMine.
 */
function macSnippet(partial: boolean): string {
  const rows = [0, 1, 2, 3].map((i) => {
    const mac = `let a${i} = rowsTile[(ty * 4 + ${i}) * ${TILE_K / 4} + q];
          acc${i} = fma(vec4<f32>(a${i}.x), f0, fma(vec4<f32>(a${i}.y), f1, fma(vec4<f32>(a${i}.z), f2, fma(vec4<f32>(a${i}.w), f3, acc${i}))));`;
    return partial && i > 0 ? `if (rowsMine > ${i}) {
          ${mac}
        }` : mac;
  });
  return `for (var q = 0; q < ${TILE_K / 4}; q++) {
          let f0 = filtTile[(q * 4) * ${TILE_COLS / 4} + tx];
          let f1 = filtTile[(q * 4 + 1) * ${TILE_COLS / 4} + tx];
          let f2 = filtTile[(q * 4 + 2) * ${TILE_COLS / 4} + tx];
          let f3 = filtTile[(q * 4 + 3) * ${TILE_COLS / 4} + tx];
          ${rows.join(NEWLINE + '          ')}
        }`;
}

/** Whether the tiled program takes this conv: it reads X and the filter as vec4s. */
export function compactGemmApplies(inChannels: number, outChannels: number, depthwise: boolean): boolean {
  return !depthwise && inChannels % 4 === 0 && outChannels % 4 === 0;
}

/**
 * Step 2 of the compacted-index-list path for regular convs, as an implicit GEMM: rows = the listed
 * pixels, columns = output channels, reduction = k*k taps x Cin. A workgroup of 16x16 threads owns a
 * 64-row x 64-channel tile of the output, each thread 4 rows x one vec4 of channels. Per step it
 * stages 16 reduction values of its 64 rows (gathered from X through the index list, zero outside
 * the map) and 16 filter rows in workgroup memory, so each X and filter value read from memory
 * serves 64 multiply-adds instead of 1 to 8 (CompactConvProgram). The active count is known only on
 * the GPU, so a workgroup loops over row tiles y, y + stride, ... below it: with one workgroup per
 * possible tile (the default) those past the count leave at once; with `maxRowWorkgroups` fewer are
 * dispatched, for devices where an idle workgroup is not free (SwiftShader runs each on a CPU
 * thread, its barrier included). Unlisted (`listed` false), row r is
 * pixel r and every pixel is a row: the dense conv, [P, Cout] being the map [B,H,W,Cout].
 * Inputs: X [B,H,W,Cin] (vec4), Filt [k,k,Cin,Cout] (vec4), List (compact-conv-program.ts) when
 * listed. Output [P, Cout].
 */
export class CompactGemmConvProgram implements WebGPUProgramLike {
  variableNames: string[];
  variableComponents: number[];
  outputComponent: number;
  outputShape: number[];
  shaderKey: string;
  dispatchLayout = { x: [1], y: [0] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [16, 16, 1];
  private readonly kernel: number;
  private readonly listed: boolean;
  private readonly part: ListPart;

  /** listed: List is the third input, and `part` the list of it this conv takes. */
  constructor(rows: number, outChannels: number, kernel: number, listed = true, part: ListPart = 'whole', maxRowWorkgroups = Infinity) {
    this.variableNames = listed ? ['X', 'Filt', 'List'] : ['X', 'Filt'];
    this.variableComponents = listed ? [4, 4, 1] : [4, 4];
    this.outputComponent = 4;
    this.outputShape = [rows, outChannels];
    this.kernel = kernel;
    this.listed = listed;
    this.part = part;
    this.shaderKey = `dynheadCompactGemmConv_k${kernel}_${listed ? part : 'dense'}`;
    this.dispatch = [Math.ceil(outChannels / TILE_COLS), Math.min(Math.ceil(rows / TILE_ROWS), maxRowWorkgroups), 1];
  }

  /**
   * WGSL: the rows (count) and this workgroup's tiles first, first + stride, ...: read through
   * workgroupUniformLoad, so the loop over them (which holds barriers) is uniform control flow (tfjs
   * passes workgroupId and numWorkgroups through private variables, which the analysis takes as
   * non-uniform). Listed, the count lives on the GPU, so fewer workgroups than tiles may be dispatched.
   */
  private tilesSnippet(): string {
    return `if (lane == 0) {
    tiles = vec3<i32>(${this.listed ? 'listAt(0)' : 'uniforms.outShape[0]'}, i32(workgroupId.y), i32(numWorkgroups.y));
  }
  let range = workgroupUniformLoad(&tiles);
  let count = range.x;`;
  }

  /**
   * WGSL: a tile of at most DIRECT_ROWS rows (a small level's, or a sparse map's last) without
   * workgroup memory: thread (tx, ty) computes row row0 + ty, channels col4 * 4 .. +3, reading X and
   * the filter where they lie. Staging the whole filter through workgroup memory, barriers and all,
   * for a few rows cost about as much as a full tile on SwiftShader.
   */
  private directSnippet(): string {
    const k = this.kernel;
    const pad = (k - 1) / 2;
    return `if (ty < count - row0 && col4 < cout4) {
        let pix = ${this.listed ? 'listAt(1 + row0 + ty)' : 'row0 + ty'};
        let b = pix / (h * w);
        let y = (pix - b * h * w) / w;
        let x = pix - (b * h + y) * w;
        let cin4 = cin / 4;
        var acc = vec4<f32>(0.0);
        for (var tap = 0; tap < ${k * k}; tap++) {
          let yy = y + tap / ${k} - ${pad};
          let xx = x + tap % ${k} - ${pad};
          if (yy >= 0 && yy < h && xx >= 0 && xx < w) {
            let xBase = ((b * h + yy) * w + xx) * cin4;
            var f = tap * cin * cout4 + col4;
            for (var c4 = 0; c4 < cin4; c4++) {
              let a = X[xBase + c4];
              acc = fma(vec4<f32>(a.x), Filt[f], fma(vec4<f32>(a.y), Filt[f + cout4], fma(vec4<f32>(a.z), Filt[f + 2 * cout4], fma(vec4<f32>(a.w), Filt[f + 3 * cout4], acc))));
              f += 4 * cout4;
            }
          }
        }
        setOutputAtIndex((row0 + ty) * cout4 + col4, acc);
      }`;
  }

  getUserCode(): string {
    const k = this.kernel;
    const pad = (k - 1) / 2;
    return `
var<workgroup> rowsTile : array<vec4<f32>, ${TILE_ROWS * (TILE_K / 4)}>;
var<workgroup> filtTile : array<vec4<f32>, ${TILE_K * (TILE_COLS / 4)}>;
var<workgroup> tiles : vec3<i32>;
${this.listed ? listReaderSnippet(this.part) : ''}

fn main() {
  let h = uniforms.xShape[1];
  let w = uniforms.xShape[2];
  let cin = uniforms.xShape[3];
  let cout4 = uniforms.outShape[1] / 4;
  let depth = ${k * k} * cin;
  let tx = i32(localId.x);
  let ty = i32(localId.y);
  let lane = ty * 16 + tx;
  ${this.tilesSnippet()}
  let col4 = i32(workgroupId.x) * ${TILE_COLS / 4} + tx;
  for (var tile = range.y; tile * ${TILE_ROWS} < count; tile += range.z) {
    let row0 = tile * ${TILE_ROWS};
    if (count - row0 <= ${DIRECT_ROWS}) {
      ${this.directSnippet()}
      continue;
    }

    // the row this thread stages: row0 + lane / 4, reduction values 4 * (lane % 4) .. +3 of each step
    let loadRow = row0 + lane / 4;
    let loadQuad = lane % 4;
    let valid = loadRow < count;
    var py = 0;
    var px = 0;
    var pb = 0;
    if (valid) {
      let pix = ${this.listed ? 'listAt(1 + loadRow)' : 'loadRow'};
      pb = pix / (h * w);
      py = (pix - pb * h * w) / w;
      px = pix - (pb * h + py) * w;
    }

    // this thread's rows that exist: the multiply-adds skip the others, so a small level's last
    // (often only) tile costs its rows, not 64. The 16 threads of a workgroup row agree, so SIMD
    // groups (SwiftShader's 4 lanes, a GPU's warp of 2 such rows) mostly skip whole.
    let rowsMine = clamp(count - (row0 + ty * 4), 0, 4);
    var acc0 = vec4<f32>(0.0);
    var acc1 = vec4<f32>(0.0);
    var acc2 = vec4<f32>(0.0);
    var acc3 = vec4<f32>(0.0);
    for (var k0 = 0; k0 < depth; k0 += ${TILE_K}) {
      // stage: one vec4 of X (4 input channels of one tap: cin % 4 == 0, so never split across taps)
      let kk = k0 + loadQuad * 4;
      var xv = vec4<f32>(0.0);
      if (valid && kk < depth) {
        let tap = kk / cin;
        let yy = py + tap / ${k} - ${pad};
        let xx = px + tap % ${k} - ${pad};
        if (yy >= 0 && yy < h && xx >= 0 && xx < w) {
          xv = X[(((pb * h + yy) * w + xx) * cin + kk - tap * cin) / 4];
        }
      }
      rowsTile[lane] = xv;
      // ... and one vec4 of the filter: reduction row k0 + ty, channels col4 * 4 .. +3
      var fv = vec4<f32>(0.0);
      if (k0 + ty < depth && col4 < cout4) {
        fv = Filt[(k0 + ty) * cout4 + col4];
      }
      filtTile[ty * ${TILE_COLS / 4} + tx] = fv;
      workgroupBarrier();
      if (rowsMine == 4) {
        ${macSnippet(false)}
      } else if (rowsMine > 0) {
        ${macSnippet(true)}
      }
      workgroupBarrier();
    }
    if (col4 < cout4) {
      ${[0, 1, 2, 3].map((i) => `if (${i} < rowsMine) {
        setOutputAtIndex((row0 + ty * 4 + ${i}) * cout4 + col4, acc${i});
      }`).join(NEWLINE + '      ')}
    }
  }
}
`;
  }
}
