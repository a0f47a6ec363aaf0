// Pixel normalisation per backbone layout.

import * as tf from '@tensorflow/tfjs-core';

/** Per-channel (x - mean) / std, in the channel order the backbone was trained with. */
export interface PixelNormalization {
  channelOrder: 'rgb' | 'bgr';
  /** In channelOrder, 0..255 scale. */
  mean: [number, number, number];
  std: [number, number, number];
}

/** 'none' keeps RGB 0..255 (for models that normalise inside, e.g. with @dynhead/fpn's normalizeImage). */
export type PixelLayout = 'torchvision' | 'msra' | 'none';

export const pixelLayouts: Record<PixelLayout, PixelNormalization> = {
  // torchvision ResNets: RGB, ImageNet mean and std (x / 255 - mean) / std, written on the 0..255 scale.
  torchvision: {
    channelOrder: 'rgb',
    mean: [123.675, 116.28, 103.53],
    std: [58.395, 57.12, 57.375],
  },
  // MSRA / Detectron ResNets (the official D8 configs): BGR, mean subtraction only.
  msra: {
    channelOrder: 'bgr',
    mean: [103.53, 116.28, 123.675],
    std: [1, 1, 1],
  },
  none: { channelOrder: 'rgb', mean: [0, 0, 0], std: [1, 1, 1] },
};

export function resolvePixels(pixels: PixelLayout | PixelNormalization): PixelNormalization {
  if (typeof pixels !== 'string') return pixels;
  const p = pixelLayouts[pixels];
  if (!p) throw new Error(`unknown pixel layout "${pixels}" (expected ${Object.keys(pixelLayouts).join(' or ')})`);
  return p;
}

/** RGB 0..255 images [..., 3] -> normalised float32 in the layout's channel order. */
export function normalizePixels<T extends tf.Tensor3D | tf.Tensor4D>(rgb: T, pixels: PixelLayout | PixelNormalization): T {
  const p = resolvePixels(pixels);
  if (rgb.shape[rgb.rank - 1] !== 3) throw new Error(`normalizePixels: expected 3 channels last, got shape [${rgb.shape}]`);
  return tf.tidy(() => {
    const x = tf.cast(rgb, 'float32');
    if (p === pixelLayouts.none) return tf.clone(x) as T;
    const ordered = p.channelOrder === 'bgr' ? tf.reverse(x, -1) : x;
    return tf.div(tf.sub(ordered, tf.tensor1d(p.mean)), tf.tensor1d(p.std)) as T;
  });
}
