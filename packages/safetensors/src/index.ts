// Public API of @dynhead/safetensors.
export {
  parseSafetensors,
  serializeSafetensors,
  SafetensorsError,
  type SafetensorsDtype,
  type SafetensorsFile,
  type StoredTensor,
} from './format';
export {
  torchConvToTfjs,
  tfjsConvToTorch,
  torchDepthwiseToTfjs,
  tfjsDepthwiseToTorch,
  nchwToNhwc,
  nhwcToNchw,
} from './layout';
