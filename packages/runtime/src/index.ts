// Public API of @dynhead/runtime.
export { useBackend, type ActiveBackend, type UseBackendOptions } from './use-backend';
export { BACKEND_NAMES, BackendUnavailableError, defaultBackend, parseBackendName, type BackendName } from './backend-names';
export { installNodeWebGPU } from './node-webgpu';
export { registerKernelFixes } from './kernels';
