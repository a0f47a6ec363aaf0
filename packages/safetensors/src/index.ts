// Public API of @dynhead/safetensors.
export {
  parseSafetensors,
  serializeSafetensors,
  SafetensorsError,
  type SafetensorsDtype,
  type SafetensorsFile,
  type SerializeOptions,
  type StoredTensor,
} from './format';
export { float16ToFloat32, float32ToFloat16 } from './float16';
export {
  torchConvToTfjs,
  tfjsConvToTorch,
  torchDepthwiseToTfjs,
  tfjsDepthwiseToTorch,
  nchwToNhwc,
  nhwcToNchw,
} from './layout';
