import { type ListPart, listReaderSnippet } from './compact-conv-program';
import type { WebGPUProgramLike } from './masked-conv-program';
import type { PyramidLayout } from '../pyramid';
import { type LevelExprs, levelUniforms, ProgramUniforms, pyramidShaderKey, type UniformData } from './pyramid-uniforms';
import { mapPosSnippet, mapRunSnippet, NEWLINE, range } from './webgpu-snippets';

/** Rows (active pixels) and output channels of the tile one workgroup computes. */
const TILE_ROWS = 64;
const TILE_COLS = 64;
/** Reduction depth (taps x input channels) staged in workgroup memory per step. */
const TILE_K = 16;
/** Rows up to which a tile is computed without staging (a row per thread row of the workgroup). */
const DIRECT_ROWS = 16;
/**
 * Rows a thread of an unstaged tile computes at most (a tile of 16 x that): each filter value read
 * serves them all. 8 ran 20% faster on SwiftShader, but its compiler took 23 s over the shader (16:
 * over 24 GB).
 */
const DIRECT_PER_THREAD = 4;

/**
 * WGSL: the step's multiply-adds of this thread's rows against the staged tiles, unrolled into
 * acc0..acc3 (SwiftShader keeps a private array in memory: an indexed accumulator cost 3x in the gate
 * conv); with `partial`, only the rows below rowsMine.
 */
function macSnippet(partial: boolean): string {
  const rows = range(4).map((i) => {
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

/** How the tiled GEMM runs on a device. */
export interface GemmTuning {
  /** the most row-tile workgroups to dispatch (each loops over the tiles) */
  rowWorkgroups: number;
  /** whether tiles of over DIRECT_ROWS rows stage X and the filter in workgroup memory (else every tile is direct) */
  stagedTiles: boolean;
}

/** A GPU: a workgroup per possible tile, staged tiles. */
export const GPU_GEMM: GemmTuning = { rowWorkgroups: Infinity, stagedTiles: true };

/**
 * SwiftShader, which runs each workgroup (barriers included) on a CPU thread: at most 8 row-tile
 * workgroups, since one past the GPU-side count is not free (at 50x84x256, density 0.2: 955 -> 766
 * ms, and 3985 -> 3749 ms at density 1), and no tile staged in workgroup memory (a 64-row tile,
 * C=256: 62 -> 35 ms; a 50x84x256 conv: 3.1 -> 2.0 s).
 */
export const SWIFTSHADER_GEMM: GemmTuning = { rowWorkgroups: 8, stagedTiles: false };

/** How a CompactGemmConvProgram reads its rows (constructor). */
export interface GemmConvOptions {
  listed?: boolean;
  part?: ListPart;
  tuning?: GemmTuning;
  biased?: boolean;
  pyramid?: PyramidLayout;
  /** listed only: each row written at its pixel of the [P, Cout] output, not at its row (the others left unwritten) */
  scattered?: boolean;
  /** X as read is max(X * scale + shift, 0) with relu (else without the max), from Affine [runs, 2, Cin] of its run */
  inputAffine?: { relu: boolean };
  /**
   * pyramid only, not biased: two towers' maps in one X, its runs (mapRun's (level, image)) taking
   * tower 0's and tower 1's filter in alternate blocks of this many; a last input Filt1 (like
   * Filt) is tower 1's (two towers stacked as levels: towerRuns = their levels x batch)
   */
  towerRuns?: number;
}

/** Whether the tiled program takes this conv: it reads X and the filter as vec4s. */
export function compactGemmApplies(inChannels: number, outChannels: number, depthwise: boolean): boolean {
  return !depthwise && inChannels % 4 === 0 && outChannels % 4 === 0;
}

/**
 * Step 2 of the compacted-index-list path for regular convs, as an implicit GEMM: rows = the listed
 * pixels, columns = output channels, reduction = k*k taps x Cin. A workgroup of 16x16 threads owns
 * 64 output channels of a tile of rows. Staged (GPUs): a tile is 64 rows, each thread 4 rows x one
 * vec4 of channels; per step the workgroup stages 16 reduction values of its 64 rows (gathered from
 * X through the index list, zero outside the map) and 16 filter rows in workgroup memory, so each X
 * and filter value read from memory serves 64 multiply-adds instead of 1 to 8 (CompactConvProgram).
 * A tile of at most 16 rows, and every tile when not staged (SwiftShader), is direct: each thread
 * reads what it needs where it lies. The active count is known only on the GPU, so a workgroup
 * loops over row tiles y, y + stride, ... below it: with one workgroup per possible tile (GPUs)
 * those past the count leave at once; `tuning.rowWorkgroups` dispatches fewer, for devices where an
 * idle workgroup is not free. Unlisted (`listed` false), row r is pixel r and every pixel is a row:
 * the dense conv, [P, Cout] being the map [B,H,W,Cout]. Inputs: X [B,H,W,Cin] (vec4), Filt
 * [k,k,Cin,Cout] (vec4), List (compact-conv-program.ts) when listed. Output [P, Cout]. With
 * `pyramid`, X is a packed pyramid (pyramid.ts, read as [1, P, 1, Cin]) and each row's taps stay
 * in its level: every level in one dispatch, and the small levels' few rows fill the tiles of others.
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
  private readonly stagedTiles: boolean;
  private readonly tileRows: number;
  private readonly biased: boolean;
  private readonly levels?: LevelExprs;
  private readonly scattered: boolean;
  private readonly inputAffine?: { relu: boolean };
  /** the towerRuns uniform's WGSL expression, when X holds two towers */
  private readonly towerRuns?: string;
  uniforms?: string;
  uniformData?: UniformData;

  /**
   * listed (default true): List is the third input, and `part` the list of it this conv takes.
   * biased: a last input Bias [Cout] (vec4) is added as the rows are written (a predictor's bias: no
   * add dispatch). pyramid: X is packed so (its rows' taps are found through the layout).
   * scattered and inputAffine: a depth node's first conv written at its pixels, its GroupNorm and
   * ReLU applied by the second as it stages them (no pass writes the normalised map between them).
   * towerRuns: a detection head's two towers in one dispatch; a tile holding rows of both runs its
   * reduction once per tower, the other tower's rows reading as zeros, so a one-tower tile costs
   * what it did.
   */
  constructor(rows: number, outChannels: number, kernel: number, options: GemmConvOptions = {}) {
    const { listed = true, part = 'whole', tuning = GPU_GEMM, biased = false, pyramid, scattered = false, inputAffine, towerRuns } = options;
    if (scattered && !listed) throw new Error('CompactGemmConvProgram: only a listed conv writes its rows scattered');
    const towers = towerRuns !== undefined;
    if (towers && !pyramid) throw new Error(`CompactGemmConvProgram: towerRuns (${towerRuns}) needs a pyramid (the towers' maps stacked as its levels)`);
    if (towers && !(Number.isInteger(towerRuns) && towerRuns > 0)) throw new Error(`CompactGemmConvProgram: towerRuns must be a positive whole number, got ${towerRuns}`);
    if (towers && biased) throw new Error('CompactGemmConvProgram: towerRuns does not take a bias (one Bias would serve both towers)');
    this.variableNames = [...(listed ? ['X', 'Filt', 'List'] : ['X', 'Filt']), ...(biased ? ['Bias'] : []), ...(inputAffine ? ['Affine'] : []), ...(towers ? ['Filt1'] : [])];
    this.variableComponents = [...(listed ? [4, 4, 1] : [4, 4]), ...(biased ? [4] : []), ...(inputAffine ? [4] : []), ...(towers ? [4] : [])];
    this.scattered = scattered;
    this.inputAffine = inputAffine;
    this.biased = biased;
    this.outputComponent = 4;
    this.outputShape = [rows, outChannels];
    this.kernel = kernel;
    this.listed = listed;
    this.part = part;
    this.stagedTiles = tuning.stagedTiles;
    if (pyramid) {
      const u = new ProgramUniforms();
      this.levels = levelUniforms(u, pyramid, 'pyr');
      // a uniform, not a constant of the code: one shader serves every size of the towers
      if (towers) this.towerRuns = u.add('towerRuns', towerRuns);
      [this.uniforms, this.uniformData] = [u.declaration, u.data];
    }
    const affineKey = inputAffine ? `affine${inputAffine.relu ? 'Relu' : ''}` : 'raw';
    this.shaderKey = `dynheadCompactGemmConv_k${kernel}_${listed ? part : 'dense'}_${tuning.stagedTiles}_${biased}_${pyramidShaderKey(pyramid)}_${scattered}_${affineKey}${towers ? '_towers' : ''}`;
    this.tileRows = tuning.stagedTiles ? TILE_ROWS : 16 * DIRECT_PER_THREAD;
    this.dispatch = [Math.ceil(outChannels / TILE_COLS), Math.min(Math.ceil(rows / this.tileRows), tuning.rowWorkgroups), 1];
  }

  /**
   * WGSL: the rows (count) and this workgroup's tiles first, first + stride, ...: with staged tiles
   * read through workgroupUniformLoad, so the loop over them (which holds barriers) is uniform
   * control flow (tfjs passes workgroupId and numWorkgroups through private variables, which the
   * analysis takes as non-uniform); direct tiles have no barrier and read them as they are. Listed,
   * the count lives on the GPU, so fewer workgroups than tiles may be dispatched.
   */
  private tilesSnippet(): string {
    if (!this.stagedTiles) {
      // no barrier in the loop, so no uniformity to keep: a workgroup past the count leaves at once
      return `let range = vec3<i32>(${this.listed ? 'listAt(0)' : 'uniforms.outShape[0]'}, i32(workgroupId.y), i32(numWorkgroups.y));
  let count = range.x;`;
    }
    return `if (lane == 0) {
    tiles = vec3<i32>(${this.listed ? 'listAt(0)' : 'uniforms.outShape[0]'}, i32(workgroupId.y), i32(numWorkgroups.y));
  }
  let range = workgroupUniformLoad(&tiles);
  let count = range.x;`;
  }

  /**
   * WGSL: a tile computed without workgroup memory: thread (tx, ty) computes rows row0 + ty,
   * row0 + ty + 16, ... (n of them, n = the tile's rows / 16 rounded up, at most 4), channels
   * col4 * 4 .. +3, reading X and the filter where they lie, each filter value serving its n rows.
   * Staging the filter through workgroup memory, barriers and all, costs a full tile's time for a
   * few rows; on SwiftShader it costs more than it saves at any size (a 64-row 3x3 conv, C=256:
   * 62 ms staged, 35 ms direct).
   */
  private directSnippet(): string {
    // rows a thread in powers of two up to the tile's: few shader variants, at most half of a thread's rows idle
    const counts: number[] = [];
    for (let n = 1; n <= (this.stagedTiles ? DIRECT_ROWS : this.tileRows) / 16; n *= 2) counts.push(n);
    if (counts.length === 1) return this.directRowsSnippet(1);
    return `let n = (rowsHere + 15) / 16;
      ${counts.map((c, j) => `${j === 0 ? '' : 'else '}if (n <= ${c}) {
        ${this.directRowsSnippet(c)}
      }`).join(' ')}`;
  }

  /** WGSL: the direct tile's work for n rows a thread (thread rows past rowsHere repeat its last row and write nothing). */
  private directRowsSnippet(n: number): string {
    const k = this.kernel;
    const pad = (k - 1) / 2;
    const rows = range(n);
    const towers = this.towerRuns !== undefined;
    return `if (col4 < cout4 && ty < rowsHere) {
        ${rows.map((i) => `var acc${i} = vec4<f32>(0.0);
        let pix${i} = ${this.listed ? `listAt(1 + row0 + min(ty + ${16 * i}, rowsHere - 1))` : `row0 + min(ty + ${16 * i}, rowsHere - 1)`};
        let pos${i} = mapPos(pix${i});${this.inputAffine ? `
        let affine${i} = mapRun(pix${i}) * 2 * (cin / 4);` : ''}${towers ? `
        let tower${i} = towerBlock(pix${i}) % 2;` : ''}`).join(NEWLINE + '        ')}
        let cin4 = cin / 4;${towers ? `
        // a pass per tower among the thread's rows, the other tower's rows reading as zeros
        for (var tw = ${rows.slice(1).reduce((e, i) => `min(${e}, tower${i})`, 'tower0')}; tw <= ${rows.slice(1).reduce((e, i) => `max(${e}, tower${i})`, 'tower0')}; tw++) {` : ''}
        for (var tap = 0; tap < ${k * k}; tap++) {
          let dy = tap / ${k} - ${pad};
          let dx = tap % ${k} - ${pad};
          ${rows.map((i) => `let in${i} = ${towers ? `tower${i} == tw && ` : ''}pos${i}.x + dy >= 0 && pos${i}.x + dy < pos${i}.z && pos${i}.y + dx >= 0 && pos${i}.y + dx < pos${i}.w;
          let at${i} = select(0, (pix${i} + dy * pos${i}.w + dx) * cin4, in${i});`).join(NEWLINE + '          ')}
          var f = tap * cin * cout4 + col4;
          for (var c4 = 0; c4 < cin4; c4++) {
            ${towers ? this.towerFilterSnippet() : `let f0 = Filt[f];
            let f1 = Filt[f + cout4];
            let f2 = Filt[f + 2 * cout4];
            let f3 = Filt[f + 3 * cout4];`}
            ${rows.map((i) => `let a${i} = select(vec4<f32>(0.0), ${this.affined(`X[at${i} + c4]`, `affine${i}`, 'c4')}, in${i});
            acc${i} = fma(vec4<f32>(a${i}.x), f0, fma(vec4<f32>(a${i}.y), f1, fma(vec4<f32>(a${i}.z), f2, fma(vec4<f32>(a${i}.w), f3, acc${i}))));`).join(NEWLINE + '            ')}
            f += 4 * cout4;
          }
        }${towers ? `
        }` : ''}
        ${rows.map((i) => `if (ty + ${16 * i} < rowsHere) {
          setOutputAtIndex(${this.scattered ? `pix${i}` : `(row0 + ty + ${16 * i})`} * cout4 + col4, ${this.written(i)});
        }`).join(NEWLINE + '        ')}
      }`;
  }

  /** WGSL: the direct tile's filter values f0..f3 at f, from tower tw's filter (each thread reads one of them, not both). */
  private towerFilterSnippet(): string {
    const at = ['f', 'f + cout4', 'f + 2 * cout4', 'f + 3 * cout4'];
    const reads = (filt: string) => at.map((a, j) => `f${j} = ${filt}[${a}];`).join(NEWLINE + '              ');
    return `${range(4).map((j) => `var f${j} : vec4<f32>;`).join(NEWLINE + '            ')}
            if (tw == 0) {
              ${reads('Filt')}
            } else {
              ${reads('Filt1')}
            }`;
  }

  /** WGSL: pixel of row `row` (an expression): listed, its list entry; dense, the row itself. */
  private pixelOf(row: string): string {
    return this.listed ? `listAt(1 + ${row})` : row;
  }

  /** WGSL: a tile of over DIRECT_ROWS rows, staged through workgroup memory step by step. */
  private stagedSnippet(): string {
    const k = this.kernel;
    const pad = (k - 1) / 2;
    const towers = this.towerRuns !== undefined;
    return `
    // the row this thread stages: row0 + lane / 4, reduction values 4 * (lane % 4) .. +3 of each step
    let loadRow = row0 + lane / 4;
    let loadQuad = lane % 4;
    let valid = loadRow < count;
    var pix = 0;
    var pos = vec4<i32>(0);${this.inputAffine ? `
    var affineAt = 0;` : ''}${towers ? `
    var rowTower = 0;` : ''}
    if (valid) {
      pix = ${this.listed ? 'listAt(1 + loadRow)' : 'loadRow'};
      pos = mapPos(pix);${this.inputAffine ? `
      affineAt = mapRun(pix) * 2 * (cin / 4);` : ''}${towers ? `
      rowTower = towerBlock(pix) % 2;` : ''}
    }

    // this thread's rows that exist: the multiply-adds skip the others, so a small level's last
    // (often only) tile costs its rows, not 64. The 16 threads of a workgroup row agree, so SIMD
    // groups (SwiftShader's 4 lanes, a GPU's warp of 2 such rows) mostly skip whole.
    let rowsMine = clamp(rowsHere - ty * 4, 0, 4);
    var acc0 = vec4<f32>(0.0);
    var acc1 = vec4<f32>(0.0);
    var acc2 = vec4<f32>(0.0);
    var acc3 = vec4<f32>(0.0);${towers ? `
    // the towers the tile's rows take, alike in every thread (the passes hold barriers): its rows
    // ascend and the blocks alternate, so a block change between the first and last row means both
    if (lane == 0) {
      let firstBlock = towerBlock(${this.pixelOf('row0')});
      let lastBlock = towerBlock(${this.pixelOf('row0 + rowsHere - 1')});
      tileTowers = select(vec2<i32>(firstBlock % 2), vec2<i32>(0, 1), lastBlock > firstBlock);
    }
    let towers = workgroupUniformLoad(&tileTowers);
    // a pass per tower, the other tower's rows staged as zeros (their accumulators unchanged)
    for (var tw = towers.x; tw <= towers.y; tw++) {` : ''}
    for (var k0 = 0; k0 < depth; k0 += ${TILE_K}) {
      // stage: one vec4 of X (4 input channels of one tap: cin % 4 == 0, so never split across taps)
      let kk = k0 + loadQuad * 4;
      var xv = vec4<f32>(0.0);
      if (valid && kk < depth${towers ? ' && rowTower == tw' : ''}) {
        let tap = kk / cin;
        let dy = tap / ${k} - ${pad};
        let dx = tap % ${k} - ${pad};
        if (pos.x + dy >= 0 && pos.x + dy < pos.z && pos.y + dx >= 0 && pos.y + dx < pos.w) {
          ${this.inputAffine ? `let c4 = (kk - tap * cin) / 4;
          xv = ${this.affined('X[(pix + dy * pos.w + dx) * (cin / 4) + c4]', 'affineAt', 'c4')};` : 'xv = X[((pix + dy * pos.w + dx) * cin + kk - tap * cin) / 4];'}
        }
      }
      rowsTile[lane] = xv;
      // ... and one vec4 of the filter: reduction row k0 + ty, channels col4 * 4 .. +3
      var fv = vec4<f32>(0.0);
      if (k0 + ty < depth && col4 < cout4) {
        ${towers ? `if (tw == 0) {
          fv = Filt[(k0 + ty) * cout4 + col4];
        } else {
          fv = Filt1[(k0 + ty) * cout4 + col4];
        }` : 'fv = Filt[(k0 + ty) * cout4 + col4];'}
      }
      filtTile[ty * ${TILE_COLS / 4} + tx] = fv;
      workgroupBarrier();
      if (rowsMine == 4) {
        ${macSnippet(false)}
      } else if (rowsMine > 0) {
        ${macSnippet(true)}
      }
      workgroupBarrier();
    }${towers ? `
    }` : ''}
    if (col4 < cout4) {
      ${range(4).map((i) => `if (${i} < rowsMine) {
        setOutputAtIndex(${this.scattered ? `listAt(1 + row0 + ty * 4 + ${i})` : `(row0 + ty * 4 + ${i})`} * cout4 + col4, ${this.written(i)});
      }`).join(NEWLINE + '      ')}
    }`;
  }

  /** WGSL: X's value `x` as the conv reads it: through the input's affine form (its run's rows at `at`, quad c4) where it has one. */
  private affined(x: string, at: string, c4: string): string {
    if (!this.inputAffine) return x;
    const y = `fma(${x}, Affine[${at} + ${c4}], Affine[${at} + cin / 4 + ${c4}])`;
    return this.inputAffine.relu ? `max(${y}, vec4<f32>(0.0))` : y;
  }

  /** WGSL: the value written for accumulator i, with the bias when the conv has one. */
  private written(i: number): string {
    return this.biased ? `acc${i} + Bias[col4]` : `acc${i}`;
  }

  getUserCode(): string {
    const k = this.kernel;
    return `
${this.stagedTiles ? `var<workgroup> rowsTile : array<vec4<f32>, ${TILE_ROWS * (TILE_K / 4)}>;
var<workgroup> filtTile : array<vec4<f32>, ${TILE_K * (TILE_COLS / 4)}>;` : ''}
${this.stagedTiles ? `var<workgroup> tiles : vec3<i32>;${this.towerRuns !== undefined ? `
var<workgroup> tileTowers : vec2<i32>;` : ''}` : ''}
${this.listed ? listReaderSnippet(this.part) : ''}

${mapPosSnippet(this.levels ?? { shape: 'uniforms.xShape' })}
${this.inputAffine || this.towerRuns !== undefined ? mapRunSnippet(this.levels ?? { shape: 'uniforms.xShape' }) : ''}${this.towerRuns !== undefined ? `

// the block of towerRuns runs pixel p lies in: tower 0's when even, tower 1's when odd
fn towerBlock(p : i32) -> i32 {
  return mapRun(p) / ${this.towerRuns};
}` : ''}

fn main() {
  let cin = uniforms.xShape[3];
  let cout4 = uniforms.outShape[1] / 4;
  let depth = ${k * k} * cin;
  let tx = i32(localId.x);
  let ty = i32(localId.y);
  let lane = ty * 16 + tx;
  ${this.tilesSnippet()}
  let col4 = i32(workgroupId.x) * ${TILE_COLS / 4} + tx;
  for (var tile = range.y; tile * ${this.tileRows} < count; tile += range.z) {
    let row0 = tile * ${this.tileRows};
    let rowsHere = min(count - row0, ${this.tileRows});
    ${this.stagedTiles ? `if (rowsHere <= ${DIRECT_ROWS}) {
      ${this.directSnippet()}
      continue;
    }
    ${this.stagedSnippet()}` : this.directSnippet()}
  }
}
`;
  }
}
