import * as tf from '@tensorflow/tfjs-core';
import { concatRows } from '../row-blocks';
import { CONCAT_ROWS, SPLIT_ROWS } from './kernel-names';

/** A split's gradient is its blocks' gradients put back together, and a concat's is its gradient cut. */
export function registerRowCopyGradients(): void {
  tf.registerGradient({
    kernelName: SPLIT_ROWS,
    gradFunc: (dy) => ({ x: () => concatRows(dy as tf.Tensor[]) }),
  });
  tf.registerGradient({
    kernelName: CONCAT_ROWS,
    saveAllInputs: true,
    gradFunc: (dy, saved) => {
      const g = dy as tf.Tensor;
      const starts = saved.reduce((s, x) => [...s, s[s.length - 1] + x.shape[0]], [0]);
      // tfjs runs each input's function in a scope of its own, so each cuts its own block; keyed by
      // position, as the inputs came (an array)
      return saved.map((x, i) => () => tf.slice(g, [starts[i], ...x.shape.slice(1).map(() => 0)], x.shape)) as unknown as Record<string, () => tf.Tensor>;
    },
  });
}
