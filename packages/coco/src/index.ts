// Public API of @dynhead/coco: COCO datasets in, COCO metrics out (pycocotools-identical COCOeval).
export type {
  CocoAnnotation,
  CocoBox,
  CocoCategory,
  CocoDetection,
  CocoImage,
  CocoJson,
  Problem,
} from './types';
export { formatProblem } from './types';
export { CocoFormatError, ImageDecodeError } from './errors';
export {
  COCOEvaluator,
  evaluateDetections,
  type CategoryAP,
  type EvalResult,
  type GroundTruth,
} from './eval/evaluator';
export {
  defaultEvalParams,
  numpyLinspace,
  type EvalParams,
} from './eval/params';
export type { NdArray } from './eval/accumulate';
export { formatSummary, pythonFixed } from './eval/summarize';
export { bboxIou } from './eval/iou';
export {
  checkDetections,
  parseResults,
  readResults,
  serializeResults,
  writeResults,
  xyxyToCoco,
} from './results';
export {
  CocoDataset,
  type ImageTargets,
  type LoadDatasetOptions,
} from './dataset';
export {
  validateCocoJson,
  clipBox,
  type ValidationReport,
} from './validate/json-checks';
export {
  validateCoco,
  defaultValidateOptions,
  type DatasetValidation,
  type ValidateOptions,
} from './validate/validate-coco';
export {
  canvasImageDecoder,
  decodeImage,
  loadImage,
  readBytes,
  readImageHeader,
  setImageDecoder,
  sharpImageDecoder,
  type ImageDecoder,
  type ImageHeader,
  type RgbImage,
} from './image/decoder';
export type { DetectionSample } from './transforms/sample';
export {
  resizeShortestEdge,
  scaleBoxes,
  shortestEdgeSize,
} from './transforms/resize';
export { flipBoxes, hflip } from './transforms/flip';
export {
  normalizePixels,
  pixelLayouts,
  resolvePixels,
  type PixelLayout,
  type PixelNormalization,
} from './transforms/normalize';
export { padToMultiple, type PaddedBatch } from './transforms/pad';
export {
  writeImage,
  writeImageKernel,
  type ImageTarget,
} from './transforms/fused';
export {
  startPixelWorkers,
  type PixelJob,
  type PixelWorkers,
} from './loader/pixel-workers';
export {
  assembleBatch,
  assembleBatchInWorkers,
  type DetectionBatch,
  type PrepareOptions,
  type SamplePlan,
} from './loader/prepare';
export {
  DataLoader,
  testLoaderConfig,
  trainLoaderConfig,
  type LoaderConfig,
} from './loader/data-loader';
export {
  runValidate,
  type ValidateCommandOptions,
} from './cli/validate-command';
export {
  runCocoEval,
  type CocoEvalCommandOptions,
} from './cli/cocoeval-command';
export { consoleIO, EXIT_BAD_INPUT, type CommandIO } from './cli/io';
export { mulberry32, shuffleInPlace } from './loader/random';
