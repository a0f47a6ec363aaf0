import type { StoredTensor } from '@dynhead/safetensors';
import type { ResNetLayout } from './config';
import { checkpointNames, isIgnorable, type ModulePart, partPrefixes } from './name-map';
import type { Parameter } from './params';

export class WeightsMismatchError extends Error {
  override name = 'WeightsMismatchError';
  constructor(
    message: string,
    readonly missing: string[],
    readonly unexpected: string[],
    readonly shapeMismatches: string[],
  ) {
    super(message);
  }
}

export interface PartParameters {
  part: ModulePart;
  parameters: Parameter[];
}

export interface AssignOptions {
  layout: ResNetLayout;
  /** Prepended to every checkpoint name (a detector's file may hold the backbone under `model.`). */
  prefix: string;
  /** Named in errors. */
  source: string;
}

const list = (items: string[], max = 12) => (items.length > max ? `${items.slice(0, max).join(', ')}, ... (${items.length - max} more)` : items.join(', '));

/**
 * Assigns checkpoint tensors to parameters. Every check runs before anything is assigned, so a bad
 * file leaves the model as it was, and the error lists all missing, unexpected and misshaped names.
 */
export function assignParameters(parts: PartParameters[], tensors: Map<string, StoredTensor>, opts: AssignOptions): void {
  const missing: string[] = [];
  const misshaped: string[] = [];
  const consumed = new Set<string>();
  const plan: [Parameter, StoredTensor | number][] = [];
  for (const { part, parameters } of parts) {
    for (const p of parameters) {
      const names = checkpointNames(part, p.name, opts.layout).map((n) => opts.prefix + n);
      const found = names.find((n) => tensors.has(n));
      if (!found) {
        if (p.fallback !== undefined && opts.layout === 'msra') plan.push([p, p.fallback]);
        else missing.push(names[0]);
        continue;
      }
      consumed.add(found);
      const t = tensors.get(found) as StoredTensor;
      if (t.dtype !== 'float32') misshaped.push(`${found}: dtype ${t.dtype}, expected float32`);
      else if (t.shape.join() !== p.torchShape.join()) misshaped.push(`${found}: file [${t.shape}] vs model [${p.torchShape}]`);
      else plan.push([p, t]);
    }
  }
  const prefixes = parts.flatMap(({ part }) => partPrefixes(part, opts.layout).map((q) => opts.prefix + q));
  const unexpected = [...tensors.keys()].filter((n) => prefixes.some((q) => n.startsWith(q)) && !consumed.has(n) && !isIgnorable(n.slice(opts.prefix.length)));
  if (missing.length || unexpected.length || misshaped.length) {
    const lines = [`${opts.source}: weights do not match the ${opts.layout} model (nothing was loaded)`];
    if (missing.length) lines.push(`  missing (${missing.length}): ${list(missing)}`);
    if (unexpected.length) lines.push(`  unexpected (${unexpected.length}): ${list(unexpected)}`);
    if (misshaped.length) lines.push(`  wrong shape (${misshaped.length}): ${list(misshaped, 20)}`);
    throw new WeightsMismatchError(lines.join('\n'), missing, unexpected, misshaped);
  }
  for (const [p, value] of plan) {
    p.assign(typeof value === 'number' ? new Float32Array(p.torchShape[0]).fill(value) : (value.data as Float32Array));
  }
}

/** Reads every parameter back under its checkpoint name, in torch layout. */
export async function collectParameters(parts: PartParameters[], layout: ResNetLayout, prefix = ''): Promise<Map<string, StoredTensor>> {
  const out = new Map<string, StoredTensor>();
  for (const { part, parameters } of parts) {
    for (const p of parameters) out.set(prefix + checkpointNames(part, p.name, layout)[0], { dtype: 'float32', shape: [...p.torchShape], data: await p.read() });
  }
  return out;
}
