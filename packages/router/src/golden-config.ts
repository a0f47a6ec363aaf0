import { parseGateKind } from '@dynhead/gate-activation';
import { type HeadConfig, type HeadKind, dynamicHead } from './config';

/**
 * The head configuration of a golden file written as in SPEC section 4, from its `__metadata__`
 * (strings, as safetensors stores them). Missing optional fields take the official defaults;
 * a malformed one is an error naming it.
 */
export function headConfigFromMetadata(metadata: Record<string, string>, source = 'golden file'): HeadConfig {
  const field = (name: string): string | undefined => metadata[name];
  const int = (name: string, fallback?: number): number => {
    const raw = field(name);
    if (raw === undefined) {
      if (fallback === undefined) throw new Error(`${source}: __metadata__.${name} is missing`);
      return fallback;
    }
    const v = Number(raw);
    if (!Number.isInteger(v) || v < 1) throw new Error(`${source}: __metadata__.${name} must be a positive integer, got '${raw}'`);
    return v;
  };
  const num = (name: string, fallback: number): number => {
    const raw = field(name);
    if (raw === undefined) return fallback;
    const v = Number(raw);
    if (!Number.isFinite(v)) throw new Error(`${source}: __metadata__.${name} must be a number, got '${raw}'`);
    return v;
  };
  const bool = (name: string, fallback: boolean): boolean => {
    const raw = field(name);
    if (raw === undefined) return fallback;
    if (/^(true|1)$/i.test(raw)) return true;
    if (/^(false|0)$/i.test(raw)) return false;
    throw new Error(`${source}: __metadata__.${name} must be True or False, got '${raw}'`);
  };
  let strides = dynamicHead.strides;
  if (field('strides') !== undefined) {
    try {
      strides = JSON.parse(field('strides') as string);
    } catch {
      throw new Error(`${source}: __metadata__.strides must be a JSON list like [8, 16, 32, 64, 128], got '${field('strides')}'`);
    }
  }
  const headName = (field('head') ?? 'dynamic').toLowerCase();
  const kinds: Record<string, HeadKind> = { dynamic: 'dynamic', fix: 'fix', conventional: 'conventional', fcos: 'conventional' };
  const kind = kinds[headName];
  if (!kind) throw new Error(`${source}: __metadata__.head must be dynamic, fix or conventional, got '${field('head')}'`);
  let gateKind = dynamicHead.gate.kind;
  try {
    gateKind = parseGateKind(field('gate_activation') ?? 'GeReTanH');
  } catch (e) {
    throw new Error(`${source}: __metadata__.gate_activation: ${(e as Error).message}`);
  }
  const numConvs = field('num_convs') !== undefined ? int('num_convs') : undefined;
  const blocks = field('blocks') !== undefined ? int('blocks') : kind === 'conventional' ? numConvs : numConvs && numConvs / 2;
  if (!blocks || !Number.isInteger(blocks)) throw new Error(`${source}: __metadata__ names neither blocks nor an even num_convs`);
  return {
    ...dynamicHead,
    kind,
    channels: int('channels'),
    blocks,
    numClasses: int('num_classes', dynamicHead.numClasses),
    gnGroups: int('gn_groups', dynamicHead.gnGroups),
    gate: { kind: gateKind, tau: num('tau', dynamicHead.gate.tau), coarse: bool('coarse_gate', false) },
    strides,
    normRegTargets: bool('norm_reg_targets', true),
    centernessOnReg: bool('centerness_on_reg', true),
    priorProb: num('prior_prob', dynamicHead.priorProb),
    budgetOnScalePaths: bool('budget_on_scale_paths', false),
  };
}
