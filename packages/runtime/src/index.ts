// Public API of @dynhead/runtime.
export { useBackend, type ActiveBackend, type UseBackendOptions } from './use-backend';
export { BACKEND_NAMES, BackendUnavailableError, defaultBackend, parseBackendName, type BackendName } from './backend-names';
export { installNodeWebGPU } from './node-webgpu';
export { BIND_GROUP_CACHE_CAPACITY, bindGroupCacheStats, type BindGroupCacheStats, installBindGroupCache } from './bind-group-cache';
export { installUniformCache, UNIFORM_CACHE_CAPACITY, uniformCacheStats, type UniformCacheStats } from './uniform-cache';
export {
  DAWN_SPIN_MS,
  DAWN_TICK_MAX_MS,
  DAWN_TICK_MS,
  dawnTickScheduler,
  isDawnTick,
  isSoftwareAdapter,
  setDawnTickSlowing,
  throttleDawnTicks,
  type TickSchedulerDeps,
} from './dawn-ticks';
export {
  broadcastBinary,
  broadcastBinaryConfig,
  type BroadcastOp,
  conv2dFloat64SumConfig,
  fusedConv2dFloat64SumConfig,
  depthwiseConv2dSum,
  depthwiseConv2dSumConfig,
  conv2dBackpropFilterComposed,
  conv2dBackpropFilterMatMul,
  conv2dBackpropFilterConfig,
  conv2dBackpropInputComposed,
  conv2dBackpropInputConfig,
  depthwiseBackpropFilter,
  depthwiseBackpropFilterComposed,
  depthwiseBackpropFilterConfig,
  depthwiseBackpropInput,
  depthwiseBackpropInputComposed,
  depthwiseBackpropInputConfig,
  maxPoolGrad,
  maxPoolGradConfig,
  MOMENTUM_SGD,
  type MomentumSgdAttrs,
  momentumSgdConfig,
  SUM_OF_SQUARES,
  SUM_OF_SQUARES_MAX_INPUTS,
  sumOfSquaresConfig,
  registerKernelFixes,
  resizeNearestNeighborGrad,
  resizeNearestNeighborGradConfig,
  unsortedSegmentSum,
  unsortedSegmentSumConfig,
} from './kernels';
