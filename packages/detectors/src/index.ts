// Public API of @dynhead/detectors: FCOS (and anchor detectors) with any head, and a trainer.
export * from './config';
export { assignFcosTargets, type FcosAssignOptions, type FcosTargets, type ImageTargets } from './fcos/targets';
export { fcosLosses, type FcosLossOptions, type FcosLosses, type FcosHeadMaps } from './fcos/loss';
export { fcosDetect, fcosTestDefaults, type FcosTestOptions } from './fcos/postprocess';
export { gridPoints, gridsOf, type LevelGrid } from './fcos/locations';
export { flattenLevels } from './fcos/flatten';
export { sigmoidFocalLoss, bceWithLogits, focalDefaults, type FocalLossOptions } from './losses/focal';
export { ltrbIouLoss, xyxyGiouLoss, type IouLossType } from './losses/giou';
export { smoothL1 } from './losses/smooth-l1';
export { classwiseNms, mapToOriginal } from './postprocess/nms';
export { toCocoResults, type CocoResult, type Detections } from './postprocess/detections';
export {
  assembleBatch,
  resizeImage,
  resizedSize,
  type DetectionBatch,
  type DetectionSample,
  type ImageInfo,
  type InputOptions,
  type RgbImage,
} from './data/batch';
export { BatchSource, type BatchSourceOptions, type ImageDecoder } from './data/batch-source';
export { readCocoSamples, type CocoSamples } from './data/coco-samples';
export { syntheticDataset } from './data/synthetic';
export { planBatch, permutation, mulberry32 } from './data/sampler';
export { Detector, isNormParameter, levelGrids, type DetectResult, type LossResult } from './model/detector';
export { detectorLosses, detectorPostprocess, detectorTargets } from './model/kinds';
export { learningRate, scheduleDefaults, type LrSchedule } from './train/schedule';
export { MomentumSgd, sgdDefaults, type SgdOptions } from './train/sgd';
export { saveCheckpoint, loadCheckpoint, hasCheckpoint, writeFileAtomic, sameCategories, formatCategories, CHECKPOINT_JSON, type CheckpointCategory, type CheckpointMeta, type LoadedCheckpoint } from './train/checkpoint';
export { ProgressReporter, formatSeconds, type IterationRecord, type LogFormat, type TextSink } from './train/reporter';
export { train, NonFiniteLossError, type TrainOptions, type TrainResult } from './train/trainer';
export { runTrain, writePlots, type TrainCommandOptions, type TrainCommandResult } from './run/train-command';
export { interruptOnSignals } from './run/interrupt';
export { runEval, formatEvaluation, detectorFromCheckpoint, openCheckpoint, type EvalCommandOptions } from './run/eval-command';
export { runExport, EXPORTED_WEIGHTS, type ExportCommandOptions, type ExportResult } from './run/export-command';
export { runInfer, runInferAll, type InferAllOptions, type InferCommandOptions, type InferResult } from './run/infer-command';
export { runFlops, headFlops, type HeadFlops } from './run/flops-command';
export { evaluateDetector, type DetectorEvaluation } from './run/evaluate';
export { openCocoSplit, reviveConfig, type CocoSplit } from './run/split';
export { lineChart, smooth, type Series } from './plot/charts';
export { Canvas, heat, PALETTE, type Rgb } from './plot/canvas';
export { InputError } from './input-error';
