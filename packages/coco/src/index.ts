// Public API of @dynhead/coco: COCO datasets in, COCO metrics out (pycocotools-identical COCOeval).
export type { CocoAnnotation, CocoBox, CocoCategory, CocoDetection, CocoImage, CocoJson, Problem } from './types';
export { formatProblem } from './types';
export { CocoFormatError } from './errors';
export { COCOEvaluator, evaluateDetections, type CategoryAP, type EvalResult, type GroundTruth } from './eval/evaluator';
export { defaultEvalParams, numpyLinspace, type EvalParams } from './eval/params';
export type { NdArray } from './eval/accumulate';
export { formatSummary, pythonFixed } from './eval/summarize';
export { bboxIou } from './eval/iou';
export { checkDetections, parseResults, readResults, serializeResults, writeResults, xyxyToCoco } from './results';
