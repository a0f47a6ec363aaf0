import * as tf from '@tensorflow/tfjs-core';

/**
 * Bilinear resize with align_corners=True (the official scale paths' F.interpolate), with its own
 * gradient: tfjs-backend-cpu 4.22's ResizeBilinearGrad labels its (correct, [B,H,W,C]-ordered)
 * result [B,W,H,C], which breaks backprop whenever H != W. Reshaping to the input's shape repairs
 * the label on cpu and is a no-op on the other backends.
 */
export function resizeAlignCorners(x: tf.Tensor4D, size: [number, number]): tf.Tensor4D {
  const f = tf.customGrad(((images: tf.Tensor4D, save: tf.GradSaveFunc) => {
    save([images]);
    return {
      value: tf.image.resizeBilinear(images, size, true),
      gradFunc: (dy: tf.Tensor4D, saved: tf.Tensor[]) => {
        const [input] = saved;
        const dx = tf.engine().runKernel('ResizeBilinearGrad', { images: input, dy }, { alignCorners: true }) as tf.Tensor;
        return [tf.reshape(dx, input.shape)];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(x) as tf.Tensor4D;
}
