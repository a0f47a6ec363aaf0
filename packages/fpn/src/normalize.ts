import * as tf from '@tensorflow/tfjs-core';
import type { ResNetLayout } from './config';

/** torchvision's ImageNet statistics on [0, 1] RGB. */
export const TORCHVISION_MEAN = [0.485, 0.456, 0.406];
export const TORCHVISION_STD = [0.229, 0.224, 0.225];
/** Detectron's MSRA statistics on [0, 255] BGR (std 1). */
export const MSRA_BGR_MEAN = [103.53, 116.28, 123.675];

/**
 * RGB 0..255 NHWC images (int32 or float32) to what the layout's weights were trained on:
 * torchvision (x / 255 - mean) / std in RGB; MSRA BGR minus the BGR mean.
 */
export function normalizeImage(rgb: tf.Tensor4D, layout: ResNetLayout): tf.Tensor4D {
  if (rgb.rank !== 4 || rgb.shape[3] !== 3) throw new Error(`normalizeImage: expected NHWC RGB images [B, H, W, 3], got [${rgb.shape}]`);
  return tf.tidy(() => {
    const x = tf.cast(rgb, 'float32');
    if (layout === 'torchvision') {
      const scale = TORCHVISION_STD.map((s) => 1 / (255 * s));
      const shift = TORCHVISION_MEAN.map((m, i) => -m / TORCHVISION_STD[i]);
      return tf.add(tf.mul(x, tf.tensor1d(scale)), tf.tensor1d(shift)) as tf.Tensor4D;
    }
    if (layout === 'msra') return tf.sub(tf.reverse(x, 3), tf.tensor1d(MSRA_BGR_MEAN)) as tf.Tensor4D;
    throw new Error(`normalizeImage: unknown layout ${JSON.stringify(layout)} (expected 'torchvision' or 'msra')`);
  });
}
