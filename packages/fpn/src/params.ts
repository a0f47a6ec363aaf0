import * as tf from '@tensorflow/tfjs-core';
import { tfjsConvToTorch, torchConvToTfjs } from '@dynhead/safetensors';

/**
 * One named weight as PyTorch stores it. Modules keep their weights in tfjs layout; a Parameter is
 * the bridge to a state_dict: it knows the torch shape, how to assign torch-layout data, and how to
 * read it back. Names are torchvision's, relative to the module (`layer1.0.conv1.weight`).
 */
export interface Parameter {
  name: string;
  torchShape: number[];
  /** Trainable by the optimiser (frozen stages and batch-norm statistics are not). */
  trainable: boolean;
  /** May be absent from a checkpoint; `fallback` fills it (Detectron's MSRA files have no BN statistics). */
  fallback?: number;
  assign(torchData: Float32Array): void;
  read(): Promise<Float32Array>;
  variable?: tf.Variable;
}

const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/** A conv filter held as a tfjs [kh, kw, in, out] variable; torch's [out, in, kh, kw] at the boundary. */
export function convParameter(name: string, variable: tf.Variable): Parameter {
  const [kh, kw, cin, cout] = variable.shape;
  const torchShape = [cout, cin, kh, kw];
  return {
    name,
    torchShape,
    trainable: variable.trainable,
    variable,
    assign(torchData) {
      const value = tf.tensor4d(torchConvToTfjs(torchData, torchShape).data, variable.shape as [number, number, number, number]);
      variable.assign(value);
      value.dispose();
    },
    async read() {
      return tfjsConvToTorch(await variable.data(), variable.shape).data;
    },
  };
}

/** A 1-D variable (bias, GroupNorm scale or shift): the same layout in torch and tfjs. */
export function vectorParameter(name: string, variable: tf.Variable): Parameter {
  return {
    name,
    torchShape: [...variable.shape],
    trainable: variable.trainable,
    variable,
    assign(torchData) {
      const value = tf.tensor1d(torchData);
      variable.assign(value);
      value.dispose();
    },
    async read() {
      return (await variable.data()) as Float32Array;
    },
  };
}

/** A 1-D array kept on the JS side (frozen batch-norm statistics are folded, never trained). */
export function hostParameter(name: string, values: Float32Array, onChange: () => void, fallback?: number): Parameter {
  return {
    name,
    torchShape: [values.length],
    trainable: false,
    fallback,
    assign(torchData) {
      values.set(torchData);
      onChange();
    },
    async read() {
      return values.slice();
    },
  };
}

export function checkSize(p: Parameter, data: ArrayLike<number>): boolean {
  return data.length === size(p.torchShape);
}
