// @dynhead/benchmarks (private): speed, FLOPs and memory of the heads, run by `dynhead bench NAME`.
export { BENCH_NAMES, parseBenchName, runBench, type BenchName, type BenchReport, type BenchRunOptions } from './run';
export { HEAD_BENCH_DEFAULTS, HEAD_BENCH_QUICK, headTable, runHeadBench, type HeadBenchOptions, type HeadBenchResult, type HeadBenchRow } from './head';
export { runTrainStepBench, trainStepTable, TRAIN_STEP_QUICK, type TrainStepOptions, type TrainStepResult } from './train-step';
export { runSparseConvBench, sparseConvTable, SPARSE_CONV_BENCH_DEFAULTS, SPARSE_CONV_BENCH_QUICK } from './sparse-conv';
export { DENSITY_TARGETS, fullCostPerPixel, headVariants, toGFlops, type Density, type HeadVariant } from './variants';
export { calibrateGateBias, gateBiases, setGateBias } from './gate-density';
export { latencyFlopsChart, type ChartPoint } from './chart';
export { DISPATCH_COUNT_DEFAULTS, dispatchCountTable, runDispatchCount, type DispatchCountOptions, type DispatchCountResult, type DispatchCountRow } from './dispatch-count';
export { levelShapes, pixelCount, FULL_IMAGE, type ImageSize } from './levels';
export { describeMachine, machineLine, type Machine } from './machine';
export { recordResult, updateReadmeSection, RESULTS_DIR } from './results';
