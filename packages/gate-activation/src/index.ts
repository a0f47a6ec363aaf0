// Public API of @dynhead/gate-activation: the spatial gates' activations (paper Sec. 3.2, Eq. 3).
export { geReTanH, reTanH } from './ge-retanh';
export { sigmoidGate, softmaxGate } from './smooth-gates';
export { gateActivation, gateActivationWgsl, gateBiasInit, isSparseGate, parseGateKind, type GateKind, type GateOptions } from './kinds';
