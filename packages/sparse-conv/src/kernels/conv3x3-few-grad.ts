import * as tf from '@tensorflow/tfjs-core';
import { CONV3X3_FEW } from './kernel-names';

/**
 * The gradient of CONV3X3_FEW with one filter (conv2dFewOutputs): that of
 * tf.conv2d(x, filter0, 1, 'same'), which it computes. Several filters (conv2dFewOutputsEach) are
 * an inference form and have none.
 */
export function registerConv3x3FewGradient(): void {
  tf.registerGradient({
    kernelName: CONV3X3_FEW,
    inputsToSave: ['x', 'filter0'],
    gradFunc: (dy, saved) => {
      if (Array.isArray(dy) && dy.length > 1) throw new Error('conv2dFewOutputsEach is inference-only: differentiate conv2dFewOutputs per filter');
      const g = (Array.isArray(dy) ? dy[0] : dy) as tf.Tensor4D;
      const [x, filter] = saved as tf.Tensor4D[];
      return {
        x: () => tf.conv2dTranspose(g, filter, x.shape, 1, 'same'),
        filter0: () =>
          tf.engine().runKernel('Conv2DBackpropFilter', { x, dy: g }, { strides: 1, pad: 'same', dataFormat: 'NHWC', dimRoundingMode: undefined, filterShape: filter.shape } as unknown as tf.NamedAttrMap) as tf.Tensor,
      };
    },
  });
}
