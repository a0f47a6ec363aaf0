// Public API of @dynhead/runtime.
export { useBackend, type ActiveBackend, type UseBackendOptions } from './use-backend';
export { BACKEND_NAMES, BackendUnavailableError, defaultBackend, parseBackendName, type BackendName } from './backend-names';
export { installNodeWebGPU } from './node-webgpu';
export {
  conv2dBackpropFilterComposed,
  conv2dBackpropFilterConfig,
  conv2dBackpropInputComposed,
  conv2dBackpropInputConfig,
  depthwiseBackpropFilter,
  depthwiseBackpropFilterComposed,
  depthwiseBackpropFilterConfig,
  depthwiseBackpropInput,
  depthwiseBackpropInputComposed,
  depthwiseBackpropInputConfig,
  registerKernelFixes,
  resizeNearestNeighborGrad,
  resizeNearestNeighborGradConfig,
  unsortedSegmentSum,
  unsortedSegmentSumConfig,
} from './kernels';
