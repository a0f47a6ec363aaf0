/** mulberry32: a tiny seeded generator; its whole state is one uint32, so it checkpoints trivially. */
export function mulberry32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A permutation of 0..n-1 (Fisher-Yates) from a seed. */
export function permutation(n: number, seed: number): number[] {
  const rand = mulberry32(seed);
  const p = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [p[i], p[j]] = [p[j], p[i]];
  }
  return p;
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
