// Public API of @dynhead/router: the fine-grained dynamic head (paper Sec. 3), numerically the official FCOSDynamicHead.
export {
  conventionalHead,
  dynamicHead,
  fixHead,
  validateHeadConfig,
  type GateConfig,
  type HeadConfig,
  type HeadKind,
} from './config';
export { DynamicHead, type ForwardOptions, type HeadOutputs } from './dynamic-head';
export { budgetLoss, budgetRatio, flopsReport, type FlopsReport } from './budget';
export { SpatialGate } from './spatial-gate';
export { DynamicConv2D } from './dynamic-conv2d';
export { DynamicBottleneck } from './dynamic-bottleneck';
export { DynamicScale } from './dynamic-scale';
export { ConventionalTower } from './conventional-tower';
export { Predictors, type LevelPredictions } from './predictors';
export { ForwardContext } from './forward-context';
export { ParamScope, torchShape, type HeadParam, type ParamInit, type ParamLayout } from './param-scope';
export type { LoadStateDictOptions } from './state-dict';
export type { CostTerms } from '@dynhead/sparse-conv';
export { headConfigFromMetadata } from './golden-config';
export {
  defaultTolerances,
  headParity,
  type ParityGroup,
  type ParityGroupName,
  type ParityOptions,
  type ParityReport,
  type ParityTolerances,
} from './parity';
