import * as tf from '@tensorflow/tfjs-core';
import { BlockCountProgram, CompactConvProgram, ExpandRowsProgram, listBlocks, PixelListProgram } from './compact-conv-program';
import { CompactGemmConvProgram, compactGemmApplies } from './compact-gemm-program';
import { BlendResizedProgram } from './blend-resized-program';
import { GateConvProgram } from './gate-conv-program';
import { QuadOutputConvProgram } from './quad-output-conv-program';
import { GatedResidualProgram } from './gated-residual-program';
import { groupNormLanes } from './group-norm-snippets';
import { DepthwiseMapProgram } from './depthwise-map-program';
import { ACTIVATED_GATE_CONV, type ActivatedGateConvAttrs, BLEND_PYRAMID, type BlendPyramidAttrs, BLEND_RESIZED, DEPTHWISE_GROUP_NORM, GEMM_CONV, type BlendResizedAttrs, type BlendResizedInputs, COMPACT_CONV, type CompactConvAttrs, COMPACT_GROUP_NORM, COMPACT_GROUP_NORM_AFFINE, type CompactGroupNormAttrs, CONV3X3_FEW, type DepthwiseGroupNormAttrs, GATED_RESIDUAL, COMPACT_LIST, type CompactListAttrs, EXPAND_ROWS, GATE_SUMS, type GateSumsAttrs, GROUP_NORM_ROWS, type GroupNormRowsAttrs, GROUP_NORM_TRAIN, GROUP_NORM_TRAIN_GRAD, type GroupNormTrainAttrs, LEVEL_SCALE, SCALE_NODE_TOWERS, SCALE_PATHS, SCALE_PATHS_GATES, type GroupNormRowsInputs, MASKED_CONV, MASKED_GROUP_NORM, type MaskedGroupNormAttrs, readNumberedInputs, type ScalePathsAttrs, type ScalePathsGatesAttrs, type ScaleNodeTowersAttrs } from './kernel-names';
import { GroupNormTrainApplyProgram, GroupNormTrainGradInputProgram, GroupNormTrainGradSumsProgram, GroupNormTrainParamGradProgram, GroupNormTrainStatsProgram } from './group-norm-train-programs';
import { MaskedConvProgram } from './masked-conv-program';
import { type PyramidLayout, pyramidLevels, segmentRowStarts } from '../pyramid';
import { LevelScaleProgram, type LevelScalePost } from './level-scale-program';
import { type WebGPUBackendLike, runProgram, asPixelMap } from './webgpu-backend';
import { deviceTuning } from './webgpu-tuning';
import { groupNormOnGpu, groupNormAffineOnGpu, secondNorm, startsOf, mapStarts } from './webgpu-group-norm';
import { gateSumsOnGpu } from './webgpu-gate-sums';
import { blendPyramidOnGpu, scalePathsOnGpu, scalePathsGatesOnGpu, scaleNodeTowersOnGpu } from './webgpu-scale-node';

export interface MaskedConvAttrs {
  depthwise: boolean;
}

export function registerWebGPUKernels(): void {
  tf.registerKernel({
    kernelName: MASKED_CONV,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, attrs, backend }) => {
      const { x, filter, mask } = inputs as { x: tf.TensorInfo; filter: tf.TensorInfo; mask: tf.TensorInfo };
      const { depthwise } = attrs as unknown as MaskedConvAttrs;
      const outChannels = depthwise ? x.shape[3] : filter.shape[3];
      // a fresh program per call: runWebGPUProgram rewrites the program's shaderKey in place
      const program = new MaskedConvProgram(x.shape, outChannels, filter.shape[0], depthwise);
      return runProgram(backend as unknown as WebGPUBackendLike, program, [x, filter, mask], 'float32');
    },
  });
  tf.registerKernel({
    kernelName: COMPACT_LIST,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, attrs, backend }) => {
      const { lists, pyramid } = attrs as unknown as CompactListAttrs;
      const be = backend as unknown as WebGPUBackendLike;
      const pixels = (inputs.mask as tf.TensorInfo).shape.reduce((a, v) => a * v, 1);
      // a pyramid's mask read as one map of its pixels (the programs find their levels)
      const mask = pyramid ? asPixelMap(inputs.mask as tf.TensorInfo) : (inputs.mask as tf.TensorInfo);
      const { listThreads: threads, onePassListBlocks } = deviceTuning(be);
      if (listBlocks(pixels) <= onePassListBlocks) return runProgram(be, new PixelListProgram(pixels, false, lists, threads, pyramid), [mask], 'int32');
      const counts = runProgram(be, new BlockCountProgram(pixels, lists, threads, pyramid), [mask], 'int32');
      const list = runProgram(be, new PixelListProgram(pixels, true, lists, threads, pyramid), [mask, counts], 'int32');
      be.disposeData(counts.dataId);
      return list;
    },
  });
  tf.registerKernel({
    kernelName: COMPACT_CONV,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, attrs, backend }) => {
      const { filter, list, affine, filter1 } = inputs as Record<'filter' | 'list', tf.TensorInfo> & { affine?: tf.TensorInfo; filter1?: tf.TensorInfo };
      const { depthwise, part = 'whole', pyramid, scattered = false, affineRelu = false, towerRuns } = attrs as unknown as CompactConvAttrs;
      if (towerRuns !== undefined && !filter1) throw new Error(`${COMPACT_CONV}: towerRuns needs the second tower's filter1`);
      if (filter1 && towerRuns === undefined) throw new Error(`${COMPACT_CONV}: filter1 needs towerRuns (which runs take it)`);
      if (filter1 && filter1.shape.join(',') !== filter.shape.join(',')) {
        throw new Error(`${COMPACT_CONV}: filter1 has shape [${filter1.shape.join(',')}]; it must be filter's [${filter.shape.join(',')}]`);
      }
      // a pyramid [P, Cin] read as one map of its pixels (the GEMM finds their levels)
      const packed = inputs.x as tf.TensorInfo;
      const x = pyramid ? asPixelMap(packed) : packed;
      const outChannels = depthwise ? x.shape[3] : filter.shape[3];
      const [b, h, w] = x.shape;
      const gemm = compactGemmApplies(x.shape[3], outChannels, depthwise);
      if (!gemm && part !== 'whole') throw new Error(`${COMPACT_CONV}: only the tiled GEMM reads a part of a list buffer`);
      if (!gemm && pyramid) throw new Error(`${COMPACT_CONV}: only the tiled GEMM reads a packed pyramid`);
      if (!gemm && (scattered || affine)) throw new Error(`${COMPACT_CONV}: only the tiled GEMM writes scattered rows or reads through an affine form`);
      if (!gemm && filter1) throw new Error(`${COMPACT_CONV}: only the tiled GEMM takes two towers (filter1)`);
      const be = backend as unknown as WebGPUBackendLike;
      const inputAffine = affine ? { relu: affineRelu } : undefined;
      const program = gemm
        ? new CompactGemmConvProgram(b * h * w, outChannels, filter.shape[0], { part, tuning: deviceTuning(be).gemm, pyramid, scattered, inputAffine, towerRuns })
        : new CompactConvProgram(b * h * w, outChannels, filter.shape[0], depthwise);
      // in the order of the GEMM's variableNames: X, Filt, List, Affine?, Filt1?
      return runProgram(be, program, [x, filter, list, ...(affine ? [affine] : []), ...(filter1 ? [filter1] : [])], 'float32');
    },
  });
  tf.registerKernel({
    kernelName: GEMM_CONV,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, attrs, backend }) => {
      const { filter, bias } = inputs as Record<'x' | 'filter', tf.TensorInfo> & { bias?: tf.TensorInfo };
      const { pyramid } = (attrs ?? {}) as { pyramid?: PyramidLayout };
      // a packed pyramid [P, C] (every level in one dispatch, each row's taps kept to its level) read as the map of its pixels
      const x = pyramid ? asPixelMap(inputs.x as tf.TensorInfo) : (inputs.x as tf.TensorInfo);
      const [b, h, w] = x.shape;
      const be = backend as unknown as WebGPUBackendLike;
      const tuning = deviceTuning(be);
      const [kh, , , cout] = filter.shape;
      if (kh === 3 && cout === 4 && tuning.quadOutputConv) {
        // four output channels (a box predictor): one vec4 a pixel, not a 64-channel tile of which 4 are used
        const program = new QuadOutputConvProgram(x.shape, tuning.gatePixels, tuning.gateLanes, bias !== undefined, pyramid);
        const out = runProgram(be, program, bias ? [x, filter, bias] : [x, filter], 'float32');
        return { ...out, shape: pyramid ? [b * h * w, 4] : [b, h, w, 4] };
      }
      // tuned for the device like the listed GEMM, so that both heads' convs run alike
      const program = new CompactGemmConvProgram(b * h * w, filter.shape[3], filter.shape[0], { listed: false, tuning: tuning.gemm, biased: bias !== undefined, pyramid });
      const rows = runProgram(be, program, bias ? [x, filter, bias] : [x, filter], 'float32');
      return { ...rows, shape: pyramid ? [b * h * w, filter.shape[3]] : [b, h, w, filter.shape[3]] };
    },
  });
  tf.registerKernel({
    kernelName: EXPAND_ROWS,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, attrs, backend }) => {
      const { rows, list } = inputs as Record<'rows' | 'list', tf.TensorInfo>;
      const { outShape } = attrs as unknown as { outShape: number[] };
      return runProgram(backend as unknown as WebGPUBackendLike, new ExpandRowsProgram(outShape), [rows, list], 'float32');
    },
  });
  tf.registerKernel({
    kernelName: GATE_SUMS,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, attrs, backend }) => gateSumsOnGpu(backend as unknown as WebGPUBackendLike, readNumberedInputs(inputs, 'gate'), attrs as unknown as GateSumsAttrs),
  });
  tf.registerKernel({
    kernelName: GROUP_NORM_ROWS,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, attrs, backend }) => {
      const { x, gamma, beta, bias, rowScale } = inputs as GroupNormRowsInputs;
      const { counts, groups, eps, relu } = attrs as unknown as GroupNormRowsAttrs;
      return groupNormOnGpu(backend as unknown as WebGPUBackendLike, x, x.shape, startsOf(counts), { gamma, beta, bias, rowScale }, { groups, eps, relu });
    },
  });
  tf.registerKernel({
    kernelName: GROUP_NORM_TRAIN,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, attrs, backend }) => {
      const { x, gamma, beta } = inputs as Record<'x' | 'gamma' | 'beta', tf.TensorInfo>;
      const { groups, eps } = attrs as unknown as GroupNormTrainAttrs;
      const be = backend as unknown as WebGPUBackendLike;
      const stats = runProgram(be, new GroupNormTrainStatsProgram(x.shape[0], groups, eps, deviceTuning(be).statsThreads), [x], 'float32');
      return [runProgram(be, new GroupNormTrainApplyProgram(x.shape, groups), [x, stats, gamma, beta], 'float32'), stats];
    },
  });
  tf.registerKernel({
    kernelName: GROUP_NORM_TRAIN_GRAD,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, attrs, backend }) => {
      const { dy, x, gamma, stats } = inputs as Record<'dy' | 'x' | 'gamma' | 'stats', tf.TensorInfo>;
      const { groups } = attrs as unknown as GroupNormTrainAttrs;
      const be = backend as unknown as WebGPUBackendLike;
      const [batch, , , channels] = x.shape;
      const sums = runProgram(be, new GroupNormTrainGradSumsProgram(batch, channels, groups, deviceTuning(be).statsThreads), [dy, x, stats], 'float32');
      const dx = runProgram(be, new GroupNormTrainGradInputProgram(x.shape, groups), [dy, x, stats, gamma, sums], 'float32');
      const dGamma = runProgram(be, new GroupNormTrainParamGradProgram(channels, 1), [sums], 'float32');
      const dBeta = runProgram(be, new GroupNormTrainParamGradProgram(channels, 0), [sums], 'float32');
      be.disposeData(sums.dataId);
      return [dx, dGamma, dBeta];
    },
  });
  tf.registerKernel({
    kernelName: MASKED_GROUP_NORM,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, attrs, backend }) => {
      const { x, mask, gamma, beta, bias } = inputs as Record<'x' | 'mask' | 'gamma' | 'beta', tf.TensorInfo> & { bias?: tf.TensorInfo };
      const { groups, eps, relu } = attrs as unknown as MaskedGroupNormAttrs;
      return groupNormOnGpu(backend as unknown as WebGPUBackendLike, x, x.shape, mapStarts(x.shape), { gamma, beta, bias, mask }, { groups, eps, relu });
    },
  });
  tf.registerKernel({
    kernelName: DEPTHWISE_GROUP_NORM,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, attrs, backend }) => {
      const { x, filter, gamma, beta, bias, rowScale } = inputs as Record<'x' | 'filter' | 'gamma' | 'beta', tf.TensorInfo> & { bias?: tf.TensorInfo; rowScale?: tf.TensorInfo };
      const { groups, eps, relu, pyramid, levels } = attrs as unknown as DepthwiseGroupNormAttrs;
      const be = backend as unknown as WebGPUBackendLike;
      if (!pyramid) return groupNormOnGpu(be, x, x.shape, mapStarts(x.shape), { gamma, beta, bias, rowScale, depthwiseFilter: filter }, { groups, eps, relu });
      // some levels of a pyramid: their conv written once, then GroupNorm of its (level, image) runs
      const some = pyramidLevels(pyramid, ...(levels ?? [0, pyramid.sizes.length]));
      const tuning = deviceTuning(be);
      const c = x.shape[1];
      const pixelMap = asPixelMap(x);
      const map = runProgram(be, new DepthwiseMapProgram(pixelMap.shape, groupNormLanes(c, groups), tuning.depthwiseMapPixels, tuning.channelQuads, some), [pixelMap, filter], 'float32');
      const out = groupNormOnGpu(be, map, map.shape, segmentRowStarts(some.layout), { gamma, beta, bias }, { groups, eps, relu });
      be.disposeData(map.dataId);
      return out;
    },
  });
  tf.registerKernel({
    kernelName: COMPACT_GROUP_NORM,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, attrs, backend }) => {
      const { rows, list, gamma, beta, bias, input, gate } = inputs as Record<'rows' | 'list' | 'gamma' | 'beta', tf.TensorInfo> & { bias?: tf.TensorInfo; input?: tf.TensorInfo; gate?: tf.TensorInfo };
      const { outShape, groups, eps, relu, part = 'whole', pyramid } = attrs as unknown as CompactGroupNormAttrs;
      const second = secondNorm(COMPACT_GROUP_NORM, inputs, attrs as unknown as CompactGroupNormAttrs);
      const params = { gamma, beta, bias, list: { list, part }, residual: input && gate ? { input, gate } : undefined, second };
      const starts = pyramid ? segmentRowStarts(pyramid) : mapStarts(outShape);
      return groupNormOnGpu(backend as unknown as WebGPUBackendLike, rows, outShape, starts, params, { groups, eps, relu });
    },
  });
  tf.registerKernel({
    kernelName: COMPACT_GROUP_NORM_AFFINE,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, attrs, backend }) => {
      const { rows, list, gamma, beta, bias } = inputs as Record<'rows' | 'list' | 'gamma' | 'beta', tf.TensorInfo> & { bias?: tf.TensorInfo };
      const { outShape, groups, eps, part = 'whole', pyramid } = attrs as unknown as CompactGroupNormAttrs;
      const starts = pyramid ? segmentRowStarts(pyramid) : mapStarts(outShape);
      const second = secondNorm(COMPACT_GROUP_NORM_AFFINE, inputs, attrs as unknown as CompactGroupNormAttrs);
      return groupNormAffineOnGpu(backend as unknown as WebGPUBackendLike, rows, starts, { gamma, beta, bias, list: { list, part }, second }, { groups, eps });
    },
  });
  tf.registerKernel({
    kernelName: BLEND_RESIZED,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, attrs, backend }) => {
      const { x, xWeight, a, b, sourceWeight } = inputs as BlendResizedInputs;
      const { alignCorners, weighted } = attrs as unknown as BlendResizedAttrs;
      const program = new BlendResizedProgram(x.shape, b !== undefined, weighted, alignCorners, deviceTuning(backend as unknown as WebGPUBackendLike).channelQuads);
      const ins = [x, xWeight, a, ...(b ? [b] : []), ...(weighted && sourceWeight ? [sourceWeight] : [])];
      return runProgram(backend as unknown as WebGPUBackendLike, program, ins, 'float32');
    },
  });
  tf.registerKernel({
    kernelName: BLEND_PYRAMID,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, attrs, backend }) => blendPyramidOnGpu(backend as unknown as WebGPUBackendLike, inputs, attrs as unknown as BlendPyramidAttrs),
  });
  tf.registerKernel({
    kernelName: LEVEL_SCALE,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, attrs, backend }) => {
      const { pyramid, post } = attrs as unknown as { pyramid: PyramidLayout; post: LevelScalePost };
      const x = inputs.x as tf.TensorInfo;
      const scales = readNumberedInputs(inputs, 'scale');
      return runProgram(backend as unknown as WebGPUBackendLike, new LevelScaleProgram(pyramid, x.shape[1], post), [x, ...scales], 'float32');
    },
  });
  tf.registerKernel({
    kernelName: SCALE_PATHS,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, attrs, backend }) => scalePathsOnGpu(backend as unknown as WebGPUBackendLike, inputs, attrs as unknown as ScalePathsAttrs),
  });
  tf.registerKernel({
    kernelName: SCALE_PATHS_GATES,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, attrs, backend }) => scalePathsGatesOnGpu(backend as unknown as WebGPUBackendLike, inputs, attrs as unknown as ScalePathsGatesAttrs),
  });
  tf.registerKernel({
    kernelName: SCALE_NODE_TOWERS,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, attrs, backend }) => scaleNodeTowersOnGpu(backend as unknown as WebGPUBackendLike, inputs, attrs as unknown as ScaleNodeTowersAttrs),
  });
  tf.registerKernel({
    kernelName: GATED_RESIDUAL,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, backend }) => {
      const { y, input, gate } = inputs as Record<'y' | 'input' | 'gate', tf.TensorInfo>;
      return runProgram(backend as unknown as WebGPUBackendLike, new GatedResidualProgram(y.shape), [y, input, gate], 'float32');
    },
  });
  tf.registerKernel({
    kernelName: CONV3X3_FEW,
    backendName: 'webgpu',
    // one program per filter: a WebGPU program writes one output
    kernelFunc: ({ inputs, backend }) => {
      const { x } = inputs as { x: tf.TensorInfo };
      const be = backend as unknown as WebGPUBackendLike;
      const { gatePixels, gateLanes } = deviceTuning(be);
      return readNumberedInputs(inputs, 'filter').map((f) => runProgram(be, new GateConvProgram(x.shape, undefined, gatePixels, undefined, 1, gateLanes), [x, f], 'float32'));
    },
  });
  tf.registerKernel({
    kernelName: ACTIVATED_GATE_CONV,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, attrs, backend }) => {
      const { filter, bias, filter1, bias1 } = inputs as Record<'filter' | 'bias', tf.TensorInfo> & { filter1?: tf.TensorInfo; bias1?: tf.TensorInfo };
      const { activation, pyramid, towerRuns } = attrs as unknown as ActivatedGateConvAttrs;
      // a pyramid [P, C] read as one map of its pixels (the program finds their levels)
      const packed = inputs.x as tf.TensorInfo;
      const x = pyramid ? asPixelMap(packed) : packed;
      const be = backend as unknown as WebGPUBackendLike;
      const second = filter1 && bias1 ? [filter1, bias1] : [];
      const { gatePixels, gateLanes } = deviceTuning(be);
      if (towerRuns !== undefined && second.length === 0) throw new Error(`${ACTIVATED_GATE_CONV}: towerRuns needs the second tower's filter1 and bias1`);
      return runProgram(be, new GateConvProgram(x.shape, activation, gatePixels, pyramid, 1 + second.length / 2, gateLanes, towerRuns), [x, filter, bias, ...second], 'float32');
    },
  });
}
