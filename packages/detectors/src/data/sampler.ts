import { mulberry32, shuffleInPlace } from '@dynhead/coco';

export { mulberry32 };

/** A permutation of 0..n-1 (Fisher-Yates) from a seed. */
export function permutation(n: number, seed: number): number[] {
  return shuffleInPlace(Array.from({ length: n }, (_, i) => i), mulberry32(seed));
}

export interface BatchPlan {
  indices: number[];
  flips: boolean[];
}

/**
 * The samples and flips of training iteration `iter`: a pure function of (seed, iter), so a resumed
 * run sees exactly the batches an uninterrupted one would. Epochs are reshuffled permutations.
 */
export function planBatch(seed: number, iter: number, batchSize: number, datasetSize: number, hflipProb: number): BatchPlan {
  if (datasetSize < 1) throw new Error('planBatch: the dataset is empty');
  const indices: number[] = [];
  const flips: boolean[] = [];
  const flipRand = mulberry32((seed ^ Math.imul(iter + 1, 0x9e3779b1)) >>> 0);
  let perm: number[] = [];
  let permEpoch = -1;
  for (let k = 0; k < batchSize; k++) {
    const pos = iter * batchSize + k;
    const epoch = Math.floor(pos / datasetSize);
    if (epoch !== permEpoch) {
      perm = permutation(datasetSize, (seed * 1_000_003 + epoch) >>> 0);
      permEpoch = epoch;
    }
    indices.push(perm[pos % datasetSize]);
    flips.push(flipRand() < hflipProb);
  }
  return { indices, flips };
}
