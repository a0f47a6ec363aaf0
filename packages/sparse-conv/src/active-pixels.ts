import type * as tf from '@tensorflow/tfjs-core';

/** The mask>0 pixels of a [B,H,W,1] mask, in image-major raster order. */
export interface ActivePixels {
  /** Flat pixel index b*H*W + y*W + x of each active pixel, ascending. */
  indices: Int32Array;
  /** Active pixels per image. */
  counts: number[];
  batch: number;
  height: number;
  width: number;
}

/** Reads the mask (asynchronously: webgpu forbids sync reads) and lists its active pixels. */
export async function readActivePixels(mask: tf.Tensor4D, fn = 'sparseConv2d'): Promise<ActivePixels> {
  const [batch, height, width] = mask.shape;
  const values = await mask.data();
  const plane = height * width;
  const counts = new Array<number>(batch).fill(0);
  let total = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === 1) total++;
    else if (v !== 0) {
      const b = Math.floor(i / plane);
      const p = i % plane;
      throw new Error(
        `${fn}: mask must hold only 0 and 1 (use gateMask), found ${v} at [${b},${Math.floor(p / width)},${p % width},0] of mask shape [${mask.shape.join(',')}]`,
      );
    }
  }
  const indices = new Int32Array(total);
  let k = 0;
  for (let i = 0; i < values.length; i++) {
    if (values[i] === 1) {
      indices[k++] = i;
      counts[Math.floor(i / plane)]++;
    }
  }
  return { indices, counts, batch, height, width };
}
