import type { SafetensorsFile, StoredTensor } from '@dynhead/safetensors';
import { tfjsConvToTorch, tfjsDepthwiseToTorch, torchConvToTfjs, torchDepthwiseToTfjs } from '@dynhead/safetensors';
import * as tf from '@tensorflow/tfjs-core';
import { type HeadParam, torchShape } from './param-scope';

export interface LoadStateDictOptions {
  /** Prefix of the head's tensors in the file (the golden files use 'param.'). Default ''. */
  prefix?: string;
  /** Default true: tensors under the prefix that the head does not have are an error. */
  strict?: boolean;
  /** Where the tensors came from, for error messages. */
  source?: string;
}

function listed(names: string[]): string {
  const shown = names.slice(0, 8).join(', ');
  return names.length > 8 ? `${shown}, ... (${names.length} in all)` : shown;
}

/**
 * Loads a PyTorch state_dict (official names, NCHW / [out,in,kh,kw]) into the registry's variables.
 * Checks everything before assigning anything: missing, unknown and mis-shaped tensors are reported
 * together, by name.
 */
export function loadStateDict(
  registry: Map<string, HeadParam>,
  file: SafetensorsFile | Map<string, StoredTensor>,
  options: LoadStateDictOptions = {},
): void {
  const { prefix = '', strict = true } = options;
  const tensors = file instanceof Map ? file : file.tensors;
  const source = options.source ?? 'state_dict';
  const missing: string[] = [];
  const misShaped: string[] = [];
  for (const [name, param] of registry) {
    const stored = tensors.get(prefix + name);
    if (!stored) {
      missing.push(prefix + name);
      continue;
    }
    const want = torchShape(param);
    const n = want.reduce((a, b) => a * b, 1);
    const sameShape = stored.shape.length === want.length && stored.shape.every((d, i) => d === want[i]);
    // PyTorch saves a 0-d parameter where the official code used torch.tensor(x): accept [] for [1].
    const scalarOk = n === 1 && stored.shape.reduce((a, b) => a * b, 1) === 1;
    if (!(sameShape || scalarOk)) misShaped.push(`${prefix + name} is [${stored.shape}], expected [${want}]`);
    else if (stored.dtype !== 'float32') misShaped.push(`${prefix + name} is ${stored.dtype}, expected float32`);
  }
  const unknown = strict
    ? [...tensors.keys()].filter((k) => k.startsWith(prefix) && !registry.has(k.slice(prefix.length)))
    : [];
  const problems: string[] = [];
  if (missing.length) problems.push(`missing ${missing.length}: ${listed(missing)}`);
  if (unknown.length) problems.push(`unknown ${unknown.length}: ${listed(unknown)}`);
  if (misShaped.length) problems.push(`wrong shape ${misShaped.length}: ${listed(misShaped)}`);
  if (problems.length) throw new Error(`${source}: cannot load the head's weights; ${problems.join('; ')}`);

  for (const [name, param] of registry) {
    const stored = tensors.get(prefix + name) as StoredTensor;
    const data = stored.data as Float32Array;
    const shape = torchShape(param);
    const converted =
      param.layout === 'conv'
        ? torchConvToTfjs(data, shape).data
        : param.layout === 'depthwise'
          ? torchDepthwiseToTfjs(data, shape).data
          : data;
    tf.tidy(() => param.variable.assign(tf.tensor(converted, param.variable.shape, 'float32')));
  }
}

/** The registry's variables as a PyTorch state_dict (official names, torch layouts). Reads asynchronously. */
export async function saveStateDict(registry: Map<string, HeadParam>): Promise<Map<string, StoredTensor>> {
  const out = new Map<string, StoredTensor>();
  for (const [name, param] of registry) {
    const data = (await param.variable.data()) as Float32Array;
    const shape = param.variable.shape;
    const torch =
      param.layout === 'conv'
        ? tfjsConvToTorch(data, shape)
        : param.layout === 'depthwise'
          ? tfjsDepthwiseToTorch(data, shape)
          : { data: Float32Array.from(data), shape: [...shape] };
    out.set(name, { dtype: 'float32', shape: torch.shape, data: torch.data });
  }
  return out;
}
