// Public API of @dynhead/fpn.
export {
  type BackboneConfig,
  type BackboneNorm,
  type P6Source,
  type ResNetDepth,
  type ResNetLayout,
  BackboneConfigError,
  msraResNet50Fpn,
  resnetFpnDefaults,
  resnetPlan,
  resolveBackboneConfig,
  scratchResNetFpn,
} from './config';
export { ResNetFPN, type BackboneOutputs, type LoadStateDictOptions } from './resnet-fpn';
export { ResNet } from './resnet';
export { FeaturePyramid } from './fpn';
export { groupNorm } from './norm';
export { torchPadding } from './conv';
export { normalizeImage, MSRA_BGR_MEAN, TORCHVISION_MEAN, TORCHVISION_STD } from './normalize';
export { checkpointNames, type ModulePart } from './name-map';
export { WeightsMismatchError } from './weights';
export { backboneParity, configFromGolden, type BackboneParityOptions, type BackboneParityReport, type ParityGroup } from './parity';
