/**
 * Test-only: an independent float64 re-implementation of torchvision's ResNet + FPN (and cvpods'
 * MSRA variant) in NCHW with PyTorch semantics and naive loops, plus random checkpoints named the
 * way torchvision / cvpods name them. The library is checked against this, never against itself.
 */
import type { StoredTensor } from '@dynhead/safetensors';

export interface Map3 {
  c: number;
  h: number;
  w: number;
  v: Float64Array;
}

export function conv(x: Map3, weight: StoredTensor, stride: number, pad: number, bias?: StoredTensor): Map3 {
  const [o, i, k] = weight.shape;
  if (i !== x.c) throw new Error(`reference conv: ${x.c} channels into a [${weight.shape}] filter`);
  const h = Math.floor((x.h + 2 * pad - k) / stride) + 1;
  const w = Math.floor((x.w + 2 * pad - k) / stride) + 1;
  const v = new Float64Array(o * h * w);
  const wd = weight.data;
  for (let oc = 0; oc < o; oc++)
    for (let y = 0; y < h; y++)
      for (let xx = 0; xx < w; xx++) {
        let s = bias ? bias.data[oc] : 0;
        for (let ic = 0; ic < i; ic++)
          for (let ky = 0; ky < k; ky++) {
            const iy = y * stride - pad + ky;
            if (iy < 0 || iy >= x.h) continue;
            for (let kx = 0; kx < k; kx++) {
              const ix = xx * stride - pad + kx;
              if (ix < 0 || ix >= x.w) continue;
              s += x.v[(ic * x.h + iy) * x.w + ix] * wd[((oc * i + ic) * k + ky) * k + kx];
            }
          }
        v[(oc * h + y) * w + xx] = s;
      }
  return { c: o, h, w, v };
}

const map = (x: Map3, f: (value: number, channel: number) => number): Map3 => {
  const v = new Float64Array(x.v.length);
  const hw = x.h * x.w;
  for (let j = 0; j < v.length; j++) v[j] = f(x.v[j], Math.floor(j / hw));
  return { ...x, v };
};
export const relu = (x: Map3) => map(x, (a) => Math.max(0, a));
export const add = (a: Map3, b: Map3): Map3 => ({ ...a, v: a.v.map((s, j) => s + b.v[j]) });

export function batchNorm(x: Map3, sd: Map<string, StoredTensor>, prefix: string, eps = 1e-5): Map3 {
  const g = (n: string, d: number) => sd.get(`${prefix}.${n}`)?.data ?? new Float32Array(x.c).fill(d);
  const [w, b, m, v] = [g('weight', 1), g('bias', 0), g('running_mean', 0), g('running_var', 1)];
  return map(x, (a, c) => ((a - m[c]) / Math.sqrt(v[c] + eps)) * w[c] + b[c]);
}

export function groupNormRef(x: Map3, sd: Map<string, StoredTensor>, prefix: string, groups: number, eps = 1e-5): Map3 {
  const w = (sd.get(`${prefix}.weight`) as StoredTensor).data;
  const b = (sd.get(`${prefix}.bias`) as StoredTensor).data;
  const per = x.c / groups;
  const hw = x.h * x.w;
  const out = new Float64Array(x.v.length);
  for (let g = 0; g < groups; g++) {
    const lo = g * per * hw;
    const hi = (g + 1) * per * hw;
    let mean = 0;
    for (let j = lo; j < hi; j++) mean += x.v[j];
    mean /= hi - lo;
    let variance = 0;
    for (let j = lo; j < hi; j++) variance += (x.v[j] - mean) ** 2;
    variance /= hi - lo;
    for (let j = lo; j < hi; j++) {
      const c = Math.floor(j / hw);
      out[j] = ((x.v[j] - mean) / Math.sqrt(variance + eps)) * w[c] + b[c];
    }
  }
  return { ...x, v: out };
}

export function maxPool3s2p1(x: Map3): Map3 {
  const h = Math.floor((x.h + 2 - 3) / 2) + 1;
  const w = Math.floor((x.w + 2 - 3) / 2) + 1;
  const v = new Float64Array(x.c * h * w);
  for (let c = 0; c < x.c; c++)
    for (let y = 0; y < h; y++)
      for (let xx = 0; xx < w; xx++) {
        let best = Number.NEGATIVE_INFINITY;
        for (let ky = 0; ky < 3; ky++)
          for (let kx = 0; kx < 3; kx++) {
            const iy = y * 2 - 1 + ky;
            const ix = xx * 2 - 1 + kx;
            if (iy >= 0 && iy < x.h && ix >= 0 && ix < x.w) best = Math.max(best, x.v[(c * x.h + iy) * x.w + ix]);
          }
        v[(c * h + y) * w + xx] = best;
      }
  return { c: x.c, h, w, v };
}

/** F.interpolate(mode='nearest', size=(h, w)): src = min(floor(dst * in / out), in - 1). */
export function nearest(x: Map3, h: number, w: number): Map3 {
  const v = new Float64Array(x.c * h * w);
  for (let c = 0; c < x.c; c++)
    for (let y = 0; y < h; y++)
      for (let xx = 0; xx < w; xx++) {
        const sy = Math.min(Math.floor((y * x.h) / h), x.h - 1);
        const sx = Math.min(Math.floor((xx * x.w) / w), x.w - 1);
        v[(c * h + y) * w + xx] = x.v[(c * x.h + sy) * x.w + sx];
      }
  return { c: x.c, h, w, v };
}

export interface RefSpec {
  depth: 18 | 34 | 50 | 101;
  layout: 'torchvision' | 'msra';
  norm: 'frozenbn' | 'gn';
  gnGroups: number;
  /** Stem width; stage widths 1x, 2x, 4x, 8x of it. */
  base: number;
  fpnChannels: number;
  p6From: 'p5' | 'c5';
  /** Detectron's MSRA pickles have no BN statistics. */
  withRunningStats: boolean;
}

const BLOCKS = { 18: [2, 2, 2, 2], 34: [3, 4, 6, 3], 50: [3, 4, 6, 3], 101: [3, 4, 23, 3] };

/** Checkpoint names written out by hand for each layout (not through the library's name map). */
function names(spec: RefSpec) {
  const tv = spec.layout === 'torchvision';
  return {
    stemConv: tv ? 'backbone.conv1.weight' : 'backbone.bottom_up.stem.conv1.weight',
    stemNorm: tv ? 'backbone.bn1' : 'backbone.bottom_up.stem.conv1.norm',
    conv: (s: number, b: number, j: number) => (tv ? `backbone.layer${s + 1}.${b}.conv${j}.weight` : `backbone.bottom_up.res${s + 2}.${b}.conv${j}.weight`),
    norm: (s: number, b: number, j: number) => (tv ? `backbone.layer${s + 1}.${b}.bn${j}` : `backbone.bottom_up.res${s + 2}.${b}.conv${j}.norm`),
    shortcut: (s: number, b: number) => (tv ? `backbone.layer${s + 1}.${b}.downsample.0.weight` : `backbone.bottom_up.res${s + 2}.${b}.shortcut.weight`),
    shortcutNorm: (s: number, b: number) => (tv ? `backbone.layer${s + 1}.${b}.downsample.1` : `backbone.bottom_up.res${s + 2}.${b}.shortcut.norm`),
    lateral: (i: number) => (tv ? `fpn.inner_blocks.${i}.0` : `backbone.fpn_lateral${i + 3}`),
    output: (i: number) => (tv ? `fpn.layer_blocks.${i}.0` : `backbone.fpn_output${i + 3}`),
    top: (p: string) => (tv ? `fpn.extra_blocks.${p}` : `backbone.top_block.${p}`),
  };
}

/** A random checkpoint for `spec`, scaled so that activations stay O(1) through the depth. */
export function randomCheckpoint(spec: RefSpec, rand: (lo?: number, hi?: number) => number): Map<string, StoredTensor> {
  const sd = new Map<string, StoredTensor>();
  const n = names(spec);
  const tensor = (shape: number[], f: () => number): StoredTensor => {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    for (let j = 0; j < data.length; j++) data[j] = f();
    return { dtype: 'float32', shape, data };
  };
  const convW = (name: string, o: number, i: number, k: number) => {
    const bound = Math.sqrt(3 / (i * k * k));
    sd.set(name, tensor([o, i, k, k], () => rand(-bound, bound)));
  };
  const norm = (prefix: string, c: number, last = false) => {
    sd.set(`${prefix}.weight`, tensor([c], () => (last ? rand(0.1, 0.4) : rand(0.6, 1.4))));
    sd.set(`${prefix}.bias`, tensor([c], () => rand(-0.2, 0.2)));
    if (spec.norm === 'frozenbn' && spec.withRunningStats) {
      sd.set(`${prefix}.running_mean`, tensor([c], () => rand(-0.3, 0.3)));
      sd.set(`${prefix}.running_var`, tensor([c], () => rand(0.5, 2)));
      sd.set(`${prefix}.num_batches_tracked`, { dtype: 'int32', shape: [], data: new Int32Array([7]) });
    }
  };
  const bottleneck = spec.depth >= 50;
  convW(n.stemConv, spec.base, 3, 7);
  norm(n.stemNorm, spec.base);
  let cin = spec.base;
  const outs: number[] = [];
  BLOCKS[spec.depth].forEach((count, s) => {
    const width = spec.base * 2 ** s;
    const cout = bottleneck ? width * 4 : width;
    for (let b = 0; b < count; b++) {
      const convs = bottleneck ? [[cin, width, 1], [width, width, 3], [width, cout, 1]] : [[cin, width, 3], [width, cout, 3]];
      convs.forEach(([i, o, k], j) => {
        convW(n.conv(s, b, j + 1), o, i, k);
        norm(n.norm(s, b, j + 1), o, j === convs.length - 1);
      });
      if (b === 0 && (s > 0 || cin !== cout)) {
        convW(n.shortcut(s, b), cout, cin, 1);
        norm(n.shortcutNorm(s, b), cout);
      }
      cin = cout;
    }
    outs.push(cout);
  });
  const C = spec.fpnChannels;
  const biased = (prefix: string, o: number, i: number, k: number) => {
    convW(`${prefix}.weight`, o, i, k);
    sd.set(`${prefix}.bias`, tensor([o], () => rand(-0.1, 0.1)));
  };
  outs.slice(1).forEach((c, i) => {
    biased(n.lateral(i), C, c, 1);
    biased(n.output(i), C, C, 3);
  });
  biased(n.top('p6'), C, spec.p6From === 'p5' ? C : outs[3], 3);
  biased(n.top('p7'), C, C, 3);
  return sd;
}

/** The reference forward: returns [C3, C4, C5, P3, P4, P5, P6, P7] of one NCHW image. */
export function referenceForward(spec: RefSpec, sd: Map<string, StoredTensor>, image: Map3): Map3[] {
  const n = names(spec);
  const w = (name: string) => {
    const t = sd.get(name);
    if (!t) throw new Error(`reference: no ${name}`);
    return t;
  };
  const norm = (x: Map3, prefix: string) => (spec.norm === 'gn' ? groupNormRef(x, sd, prefix, spec.gnGroups) : batchNorm(x, sd, prefix));
  let x = maxPool3s2p1(relu(norm(conv(image, w(n.stemConv), 2, 3), n.stemNorm)));
  const cs: Map3[] = [];
  const bottleneck = spec.depth >= 50;
  BLOCKS[spec.depth].forEach((count, s) => {
    for (let b = 0; b < count; b++) {
      const stride = b === 0 && s > 0 ? 2 : 1;
      const identity = sd.has(n.shortcut(s, b)) ? norm(conv(x, w(n.shortcut(s, b)), stride, 0), n.shortcutNorm(s, b)) : x;
      let y: Map3;
      if (bottleneck) {
        const [s1, s2] = spec.layout === 'msra' ? [stride, 1] : [1, stride];
        y = relu(norm(conv(x, w(n.conv(s, b, 1)), s1, 0), n.norm(s, b, 1)));
        y = relu(norm(conv(y, w(n.conv(s, b, 2)), s2, 1), n.norm(s, b, 2)));
        y = norm(conv(y, w(n.conv(s, b, 3)), 1, 0), n.norm(s, b, 3));
      } else {
        y = relu(norm(conv(x, w(n.conv(s, b, 1)), stride, 1), n.norm(s, b, 1)));
        y = norm(conv(y, w(n.conv(s, b, 2)), 1, 1), n.norm(s, b, 2));
      }
      x = relu(add(y, identity));
    }
    if (s > 0) cs.push(x);
  });
  const lat = (i: number) => conv(cs[i], w(`${n.lateral(i)}.weight`), 1, 0, w(`${n.lateral(i)}.bias`));
  const out = (i: number, m: Map3) => conv(m, w(`${n.output(i)}.weight`), 1, 1, w(`${n.output(i)}.bias`));
  let merged = lat(2);
  const ps = [out(2, merged)];
  for (let i = 1; i >= 0; i--) {
    const l = lat(i);
    merged = add(l, nearest(merged, l.h, l.w));
    ps.unshift(out(i, merged));
  }
  const p6 = conv(spec.p6From === 'p5' ? ps[2] : cs[2], w(`${n.top('p6')}.weight`), 2, 1, w(`${n.top('p6')}.bias`));
  const p7 = conv(relu(p6), w(`${n.top('p7')}.weight`), 2, 1, w(`${n.top('p7')}.bias`));
  return [...cs, ...ps, p6, p7];
}
