import type { ResNetLayout } from './config';

/**
 * Where each weight lives in a checkpoint. Modules name weights as torchvision does; a layout maps
 * those to the checkpoint's names:
 *
 * | torchvision (layout 'torchvision')      | cvpods / detectron2 (layout 'msra')               |
 * |-----------------------------------------|---------------------------------------------------|
 * | backbone.conv1.weight                   | backbone.bottom_up.stem.conv1.weight              |
 * | backbone.bn1.{weight,bias,running_*}    | backbone.bottom_up.stem.conv1.norm.{...}          |
 * | backbone.layerK.I.convJ.weight          | backbone.bottom_up.res(K+1).I.convJ.weight        |
 * | backbone.layerK.I.bnJ.{...}             | backbone.bottom_up.res(K+1).I.convJ.norm.{...}    |
 * | backbone.layerK.I.downsample.0.weight   | backbone.bottom_up.res(K+1).I.shortcut.weight     |
 * | backbone.layerK.I.downsample.1.{...}    | backbone.bottom_up.res(K+1).I.shortcut.norm.{...} |
 * | fpn.inner_blocks.I.0.{weight,bias}      | backbone.fpn_lateral(I+3).{weight,bias}           |
 * | fpn.layer_blocks.I.0.{weight,bias}      | backbone.fpn_output(I+3).{weight,bias}            |
 * | fpn.extra_blocks.p6 / p7.{weight,bias}  | backbone.top_block.p6 / p7.{weight,bias}          |
 *
 * torchvision before 0.13 named FPN convs `inner_blocks.I.weight` (no `.0`); both are accepted.
 * Detectron's original MSRA pickles (R-50.pkl) use Caffe2 names; examples/convert-torchvision
 * turns them into the cvpods names above.
 */
export type ModulePart = 'backbone' | 'fpn';

const MSRA_BACKBONE_RULES: [RegExp, string][] = [
  [/^conv1\.weight$/, 'stem.conv1.weight'],
  [/^bn1\.(\w+)$/, 'stem.conv1.norm.$1'],
  [/^layer(\d)\.(\d+)\.conv(\d)\.weight$/, 'res$1+.$2.conv$3.weight'],
  [/^layer(\d)\.(\d+)\.bn(\d)\.(\w+)$/, 'res$1+.$2.conv$3.norm.$4'],
  [/^layer(\d)\.(\d+)\.downsample\.0\.weight$/, 'res$1+.$2.shortcut.weight'],
  [/^layer(\d)\.(\d+)\.downsample\.1\.(\w+)$/, 'res$1+.$2.shortcut.norm.$3'],
];

const MSRA_FPN_RULES: [RegExp, string][] = [
  [/^inner_blocks\.(\d)\.0\.(\w+)$/, 'fpn_lateral$1+++.$2'],
  [/^layer_blocks\.(\d)\.0\.(\w+)$/, 'fpn_output$1+++.$2'],
  [/^extra_blocks\.(p6|p7)\.(\w+)$/, 'top_block.$1.$2'],
];

/** Applies the first matching rule; `$1+` means "$1 plus one", `$1+++` "$1 plus three". */
function rewrite(name: string, rules: [RegExp, string][]): string {
  for (const [pattern, template] of rules) {
    const m = pattern.exec(name);
    if (!m) continue;
    return template.replace(/\$(\d)(\+*)/g, (_, i: string, plus: string) => (plus ? String(Number(m[Number(i)]) + plus.length) : m[Number(i)]));
  }
  throw new Error(`name-map: no MSRA name for '${name}'`);
}

/** Checkpoint names for a module weight, the preferred one first. */
export function checkpointNames(part: ModulePart, name: string, layout: ResNetLayout): string[] {
  if (layout === 'msra') return part === 'backbone' ? [`backbone.bottom_up.${rewrite(name, MSRA_BACKBONE_RULES)}`] : [`backbone.${rewrite(name, MSRA_FPN_RULES)}`];
  if (part === 'backbone') return [`backbone.${name}`];
  const legacy = name.replace(/^(inner_blocks|layer_blocks)\.(\d)\.0\./, '$1.$2.');
  return legacy === name ? [`fpn.${name}`] : [`fpn.${name}`, `fpn.${legacy}`];
}

/** Names under which a checkpoint holds each part (used to report unexpected weights). */
export function partPrefixes(part: ModulePart, layout: ResNetLayout): string[] {
  if (layout === 'msra') return part === 'backbone' ? ['backbone.bottom_up.'] : ['backbone.fpn_', 'backbone.top_block.'];
  return part === 'backbone' ? ['backbone.'] : ['fpn.'];
}

/** Checkpoint entries that are not weights of this model and are skipped silently. */
export function isIgnorable(name: string): boolean {
  return /(^|\.)num_batches_tracked$/.test(name) || /^backbone\.(fc|bottom_up\.(linear|fc))\.(weight|bias)$/.test(name);
}
