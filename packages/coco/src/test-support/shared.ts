// Paths into the repository's sibling `shared/` folder (golden data, never modified by tests).
import { fileURLToPath } from 'node:url';

export const SHARED = fileURLToPath(new URL('../../../../../shared/', import.meta.url));
export const COCOEVAL_CASES = `${SHARED}cocoeval-cases/`;
export const BCCD = `${SHARED}datasets/bccd/`;
export const BCCD_TRAIN = `${BCCD}annotations/instances_train.json`;
export const BCCD_VAL = `${BCCD}annotations/instances_val.json`;
export const BCCD_IMAGES = `${BCCD}images`;
