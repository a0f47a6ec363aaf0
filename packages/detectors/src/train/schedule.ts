/** Learning-rate schedule: linear warmup then a step decay (Detectron's WarmupMultiStepLR). */
export interface LrSchedule {
  baseLr: number;
  /** Iterations at which the lr is multiplied by `gamma`. */
  steps: number[];
  gamma: number;
  warmupIters: number;
  /** lr factor at iteration 0, rising linearly to 1 at `warmupIters`. */
  warmupFactor: number;
}

export const scheduleDefaults: LrSchedule = { baseLr: 0.01, steps: [60_000, 80_000], gamma: 0.1, warmupIters: 1000, warmupFactor: 0.001 };

/** The lr used by the update of (0-based) iteration `iter`. */
export function learningRate(s: LrSchedule, iter: number): number {
  let warm = 1;
  if (iter < s.warmupIters) {
    const alpha = iter / s.warmupIters;
    warm = s.warmupFactor * (1 - alpha) + alpha;
  }
  const decays = s.steps.filter((step) => iter >= step).length;
  return s.baseLr * warm * s.gamma ** decays;
}
