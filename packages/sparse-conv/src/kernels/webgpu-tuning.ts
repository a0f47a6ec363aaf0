import * as tf from '@tensorflow/tfjs-core';
import { GPU_ONE_PASS_LIST_BLOCKS, LIST_THREADS, ONE_PASS_LIST_BLOCKS } from './compact-conv-program';
import { GPU_GEMM, type GemmTuning, SWIFTSHADER_GEMM } from './compact-gemm-program';
import { GATE_CONV_LANES, GATE_CONV_PIXELS } from './gate-conv-program';
import { GATE_SUMS_CHUNK_PIXELS, GATE_SUMS_THREADS } from './gate-sums-program';
import { CHUNK_ROWS, GPU_STATS_THREADS } from './group-norm-snippets';
import { DEPTHWISE_MAP_PIXELS } from './depthwise-map-program';
import type { WebGPUBackendLike } from './webgpu-backend';

/** How this package's webgpu kernels run on a device, where the fastest form differs. */
interface DeviceTuning {
  gemm: GemmTuning;
  /** images of more rows than this have a depthwise conv with GN written as a map first (DepthwiseMapProgram) */
  depthwiseMapRows: number;
  /** threads of a GroupNorm statistics workgroup (group-norm-statistics-programs.ts) */
  statsThreads: number;
  /** threads of the gate sums' workgroup, one per image (gate-sums-program.ts) */
  gateSumsThreads: number;
  /** pixels of an image a gate sums' workgroup takes: more, and the image is split into chunks and combined */
  gateSumsChunkPixels: number;
  /** threads of a pixel list's workgroup, one per block of 256 pixels (compact-conv-program.ts) */
  listThreads: number;
  /** blocks of 256 pixels up to which a list takes one dispatch, not a count pass and a list pass */
  onePassListBlocks: number;
  /** adjacent pixels a thread of the gate conv and of the depthwise map computes */
  gatePixels: number;
  /** threads sharing a gate conv cell's channels (gate-conv-program.ts) */
  gateLanes: number;
  depthwiseMapPixels: number;
  /**
   * groups of 4 channels a thread of the per-pixel programs (the depthwise map, GroupNorm's apply
   * pass, the scale node's blend) takes in turn, paying its pixel's index arithmetic once for all
   */
  channelQuads: number;
  /** a big map's GroupNorm in two programs (GroupNormNormalizeProgram combines as it applies), not three */
  normalizeInOne: boolean;
  /**
   * channelQuads of GroupNormNormalizeProgram, whose threads each add their group's chunk sums: the
   * more quads of a group a thread takes, the fewer times they are added
   */
  normalizeQuads: number;
  /**
   * a depth node's first conv written at its pixels with its GroupNorm's statistics alone, the
   * second conv normalising what it reads (sparseConvPair): no pass writes the normalised map
   */
  normalizeOnRead: boolean;
  /** the scale paths left as their convs with GroupNorm's statistics alone, the blend normalising as it samples them */
  blendNormalizes: boolean;
  /** with blendNormalizes, the scale node's two path gates computed by the program that writes its paths' convs (ScalePathsGatesProgram), not by a gate conv of their own */
  pathGatesWithPaths: boolean;
  /**
   * with pathGatesWithPaths, the blend works out the paths' GroupNorm from their chunk sums (as
   * GroupNormNormalizeProgram does), not from a combine program's scale and shift: a dispatch fewer
   * a block, the sums added by each thread that samples a path
   */
  blendCombines: boolean;
  /** a dense 3x3 conv to four channels (a box predictor) in QuadOutputConvProgram, not the GEMM's 64-channel tiles */
  quadOutputConv: boolean;
  /**
   * two towers' depth nodes in one set of dispatches (sparseConvPairTowers), each program taking a
   * row's tower's weights, not one tower after the other
   */
  mergeTowers: boolean;
  /**
   * the two towers' scale nodes in one set of dispatches (scaleNodeTowers: the paths with their
   * gates, their statistics and the blend, each cell or pixel taking its tower's weights), not one
   * tower after the other
   */
  mergeScaleNodes: boolean;
}

/** GPUs: the depthwise conv computed inside GN's programs while one chunk holds an image (a dispatch and a map saved). */
const GPU_TUNING: DeviceTuning = {
  gemm: GPU_GEMM,
  depthwiseMapRows: CHUNK_ROWS,
  statsThreads: GPU_STATS_THREADS,
  gateSumsThreads: GATE_SUMS_THREADS,
  gateSumsChunkPixels: GATE_SUMS_CHUNK_PIXELS,
  listThreads: LIST_THREADS,
  onePassListBlocks: GPU_ONE_PASS_LIST_BLOCKS,
  gatePixels: GATE_CONV_PIXELS,
  gateLanes: GATE_CONV_LANES,
  depthwiseMapPixels: DEPTHWISE_MAP_PIXELS,
  channelQuads: 1,
  normalizeInOne: true,
  // each thread adds its group's chunk sums once for both quads of the group (8 channels): an H200's
  // 48 normalizes of a D8 Mid pass at batch 8, 11.5 -> 8.3 ms (2026-12-04); 4 quads a thread 11.1
  normalizeQuads: 2,
  normalizeOnRead: true,
  blendNormalizes: true,
  pathGatesWithPaths: true,
  // as the normalize pass adds its chunk sums (normalizeInOne): a dispatch fewer a block
  blendCombines: true,
  quadOutputConv: true,
  // half the dispatches of a block's depth nodes: a GPU pays per dispatch (not measured on one yet)
  mergeTowers: true,
  // and of its scale nodes, with no copies to stack their outputs (not measured on a GPU yet)
  mergeScaleNodes: true,
};

/**
 * SwiftShader: GroupNorm statistics in workgroups of one SIMD group (4 threads: no coroutine
 * switches at barriers); the depthwise map at every size: it costs less than the one-pass
 * program's per-element taps (25x42x256: 23 -> 14 ms; with 4-thread statistics 7x11: 3.1-4.5 ->
 * 1.9-4.6 ms, 4x6: 1.0-1.1 -> 0.8 ms); 8 pixels a thread in the gate conv, so each X value read
 * serves more outputs (a GPU wants the threads instead); the per-pixel programs' threads take 16
 * channel quads in turn, paying their index arithmetic once for all, the depthwise map's over 8
 * pixels (a 50x84x256 map: 8 pixels, one quad 41-51 ms; 4 pixels, 16 quads 24-35 ms; GN's apply
 * pass of that map 22-28 -> 9-12 ms; runs of the same noisy machine; 8 pixels and 16 quads below). A big map's GroupNorm in
 * three programs: a thread of the fused normalize pass adds the sums of the 8 groups its 16 quads
 * span, which cost more than the dispatch it saves (16800x256, 32 groups: 97 -> 151 ms a GN).
 */
const SWIFTSHADER_TUNING: DeviceTuning = {
  gemm: SWIFTSHADER_GEMM,
  depthwiseMapRows: 0,
  statsThreads: 4,
  gateSumsThreads: 4,
  gateSumsChunkPixels: Infinity,
  listThreads: 4,
  onePassListBlocks: ONE_PASS_LIST_BLOCKS,
  gatePixels: 8,
  // SwiftShader runs a workgroup's threads as coroutines: lanes would only add barriers
  gateLanes: 1,
  // with 16 quads a thread, 8 pixels beat 4: a D8 Mid pass at 400x672 spent 684-705 ms in its 16
  // depthwise maps against 859 (2 pixels: 1225, 16: 684), 2026-12-04
  depthwiseMapPixels: 8,
  channelQuads: 16,
  normalizeInOne: false,
  normalizeQuads: 16,
  // direct tiles normalise every X value each of their 16 column threads reads: a D8 Mid pass at
  // 400x672, 23.6 -> 27.8 s (2026-12-04); the blend's normalising on read was even (22.9 s either way)
  normalizeOnRead: false,
  blendNormalizes: true,
  pathGatesWithPaths: true,
  // a thread's 16 quads span two groups, whose sums it would add for each (as normalizeInOne)
  blendCombines: false,
  quadOutputConv: true,
  // SwiftShader pays for the work, not the dispatches: merged, a D8 Mid pass at 400x672 took 30.4 s
  // against FCOS's 24.2 (0.80x; 1.08x tower by tower), its GEMMs' direct tiles choosing a tower's
  // filter in the inner loop and its one-pass pixel lists counting twice as many pixels before each
  // block (2026-12-05)
  mergeTowers: false,
  // the scale nodes likewise (its head keeps the towers apart, so they would only run so alone)
  mergeScaleNodes: false,
};

/** The knobs of DeviceTuning that setWebGPUTuning can set one by one (the GEMM's tiles aside). */
export type WebGPUTuningOverrides = Partial<Omit<DeviceTuning, 'gemm'>>;

/** A check that a knob is a power of 2 up to `max` (a workgroup's threads, a cell's lanes). */
const powerOfTwo = (max: number) => (v: unknown) => Number.isInteger(v) && (v as number) >= 1 && (v as number) <= max && Number.isInteger(Math.log2(v as number));
/** A check that a knob is an integer in [min, max]. */
const integer = (min: number, max: number) => (v: unknown) => Number.isInteger(v) && (v as number) >= min && (v as number) <= max;

/** Each knob's allowed values: what the programs are written for. */
const TUNING_KNOBS: Record<keyof WebGPUTuningOverrides, (v: unknown) => boolean> = {
  depthwiseMapRows: integer(0, Number.MAX_SAFE_INTEGER),
  statsThreads: powerOfTwo(256),
  gateSumsThreads: powerOfTwo(256),
  gateSumsChunkPixels: (v) => v === Infinity || integer(1, Number.MAX_SAFE_INTEGER)(v),
  listThreads: powerOfTwo(256),
  onePassListBlocks: integer(0, ONE_PASS_LIST_BLOCKS),
  gatePixels: integer(1, 16),
  gateLanes: powerOfTwo(64),
  depthwiseMapPixels: integer(1, 16),
  channelQuads: integer(1, 64),
  normalizeInOne: (v) => typeof v === 'boolean',
  normalizeQuads: integer(1, 64),
  normalizeOnRead: (v) => typeof v === 'boolean',
  blendNormalizes: (v) => typeof v === 'boolean',
  pathGatesWithPaths: (v) => typeof v === 'boolean',
  blendCombines: (v) => typeof v === 'boolean',
  quadOutputConv: (v) => typeof v === 'boolean',
  mergeTowers: (v) => typeof v === 'boolean',
  mergeScaleNodes: (v) => typeof v === 'boolean',
};

/**
 * Throws, naming `caller`, on a knob setWebGPUTuning does not know or a value its programs are not
 * written for (a CLI checks its flags with it before any backend is set up).
 */
export function checkWebGPUTuningOverrides(overrides: Record<string, unknown>, caller = 'checkWebGPUTuningOverrides'): void {
  for (const [key, value] of Object.entries(overrides)) {
    const valid = TUNING_KNOBS[key as keyof WebGPUTuningOverrides];
    if (!valid) throw new Error(`${caller}: unknown knob '${key}'; known: ${Object.keys(TUNING_KNOBS).join(', ')}`);
    if (!valid(value)) throw new Error(`${caller}: ${key} cannot be ${String(value)}`);
  }
}

let forcedTuning: DeviceTuning | undefined;
let tuningOverrides: WebGPUTuningOverrides = {};

/**
 * For tests and benchmarks: run the kernels as on a GPU or as on SwiftShader whatever the device,
 * so that both forms are checked on either; undefined: as the device asks. `overrides` then set
 * single knobs of that form (benchmarks that compare them on a device); a knob of another name or
 * value is an error.
 */
export function setWebGPUTuning(kind: 'gpu' | 'swiftshader' | undefined, overrides: WebGPUTuningOverrides = {}): void {
  checkWebGPUTuningOverrides(overrides, 'setWebGPUTuning');
  forcedTuning = kind === undefined ? undefined : kind === 'gpu' ? GPU_TUNING : SWIFTSHADER_TUNING;
  tuningOverrides = { ...overrides };
}

/**
 * A boolean knob of the active webgpu backend's tuning (false on other backends): whether a depth
 * node's conv pair has its second conv apply the first's GroupNorm as it reads (normalizeOnRead),
 * whether the scale node's blend normalises its paths as it samples them (blendNormalizes). The
 * callers check first that the backend has the kernels.
 */
export function webgpuTuningFlag(knob: 'normalizeOnRead' | 'blendNormalizes' | 'pathGatesWithPaths' | 'blendCombines' | 'mergeTowers' | 'mergeScaleNodes'): boolean {
  return tf.getBackend() === 'webgpu' && deviceTuning(tf.backend() as unknown as WebGPUBackendLike)[knob];
}

/** How the kernels run on this device. */
export function deviceTuning(be: WebGPUBackendLike): DeviceTuning {
  const base = forcedTuning ?? (be.adapterInfo?.architecture === 'swiftshader' ? SWIFTSHADER_TUNING : GPU_TUNING);
  return { ...base, ...tuningOverrides };
}
