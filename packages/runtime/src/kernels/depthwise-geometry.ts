import * as tf from '@tensorflow/tfjs-core';

/** Depthwise conv sizes, from the same computeConv2DInfo the forward kernels use. */
export interface DepthwiseGeometry {
  batch: number;
  inH: number;
  inW: number;
  channels: number;
  multiplier: number;
  outH: number;
  outW: number;
  kh: number;
  kw: number;
  strideH: number;
  strideW: number;
  dilationH: number;
  dilationW: number;
  padTop: number;
  padLeft: number;
}

export function depthwiseGeometry(
  inputShape: number[],
  filterShape: number[],
  attrs: { strides: number | [number, number]; dilations: number | [number, number]; pad: tf.DepthwiseConv2dNativeBackpropFilterAttrs['pad']; dimRoundingMode?: 'floor' | 'round' | 'ceil' },
): DepthwiseGeometry {
  const info = tf.backend_util.computeConv2DInfo(
    inputShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides,
    attrs.dilations,
    attrs.pad,
    attrs.dimRoundingMode,
    true,
  );
  return {
    batch: info.batchSize,
    inH: info.inHeight,
    inW: info.inWidth,
    channels: info.inChannels,
    multiplier: info.outChannels / info.inChannels,
    outH: info.outHeight,
    outW: info.outWidth,
    kh: info.filterHeight,
    kw: info.filterWidth,
    strideH: info.strideHeight,
    strideW: info.strideWidth,
    dilationH: info.dilationHeight,
    dilationW: info.dilationWidth,
    padTop: info.padInfo.top,
    padLeft: info.padInfo.left,
  };
}
