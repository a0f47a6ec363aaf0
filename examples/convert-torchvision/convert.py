#!/usr/bin/env python3
"""Turn ResNet checkpoints into the safetensors files @dynhead/fpn loads (run where you have internet).

  # torchvision ImageNet weights (downloads from download.pytorch.org through torchvision):
  python convert.py torchvision --arch resnet50 --weights IMAGENET1K_V1 -o resnet50-imagenet.safetensors
  # ... or from a .pth you already have:
  python convert.py torchvision --arch resnet50 --checkpoint resnet50-0676ba61.pth -o resnet50-imagenet.safetensors
  # torchvision's COCO-trained FCOS / RetinaNet (backbone.body.* + backbone.fpn.*), ResNet and FPN:
  python convert.py torchvision --arch resnet50 --checkpoint fcos_resnet50_fpn_coco-99b0c9b7.pth --detection -o fcos-r50-fpn.safetensors
  # Detectron's MSRA ImageNet pickle (R-50.pkl / R-101.pkl, Caffe2 names) -> cvpods names:
  python convert.py msra R-50.pkl --arch resnet50 -o R-50-msra.safetensors
  # a cvpods / detectron2 checkpoint (names already backbone.bottom_up.*, backbone.fpn_*):
  python convert.py cvpods model_final.pth --arch resnet50 -o fcos-dynhead-backbone.safetensors
  # check the name map without any download:
  python convert.py selftest

Load the result with `new ResNetFPN({depth: 50, layout}).loadStateDict(parseSafetensors(bytes), {parts})`,
layout 'torchvision' for the first three, 'msra' for the last two; parts 'backbone' for ImageNet files.
Needs numpy; torchvision/cvpods modes need torch (+ torchvision for --weights). The safetensors
package is used when installed, otherwise the file is written by the small writer below.
"""
import argparse
import json
import pickle
import re
import struct
import sys

import numpy as np

DEPTHS = {'resnet18': [2, 2, 2, 2], 'resnet34': [3, 4, 6, 3], 'resnet50': [3, 4, 6, 3], 'resnet101': [3, 4, 23, 3]}

# Detectron (Caffe2) MSRA names -> cvpods / detectron2 names, as detectron2's c2_model_loading does.
# BN blobs carry the folded scale (_bn_s) and shift (_bn_b) only; the loader then uses mean 0, var 1.
MSRA_RULES = [
    (r'^conv1_w$', 'stem.conv1.weight'),
    (r'^res_conv1_bn_s$', 'stem.conv1.norm.weight'),
    (r'^res_conv1_bn_b$', 'stem.conv1.norm.bias'),
    (r'^res(\d)_(\d+)_branch2([abc])_w$', lambda m: f'res{m[1]}.{m[2]}.conv{"abc".index(m[3]) + 1}.weight'),
    (r'^res(\d)_(\d+)_branch2([abc])_bn_s$', lambda m: f'res{m[1]}.{m[2]}.conv{"abc".index(m[3]) + 1}.norm.weight'),
    (r'^res(\d)_(\d+)_branch2([abc])_bn_b$', lambda m: f'res{m[1]}.{m[2]}.conv{"abc".index(m[3]) + 1}.norm.bias'),
    (r'^res(\d)_(\d+)_branch1_w$', lambda m: f'res{m[1]}.{m[2]}.shortcut.weight'),
    (r'^res(\d)_(\d+)_branch1_bn_s$', lambda m: f'res{m[1]}.{m[2]}.shortcut.norm.weight'),
    (r'^res(\d)_(\d+)_branch1_bn_b$', lambda m: f'res{m[1]}.{m[2]}.shortcut.norm.bias'),
]
# Blobs that are not backbone weights: the classifier, optimiser state, Caffe2 bookkeeping.
MSRA_SKIP = re.compile(r'^(fc1000_[wb]|pred_[wb]|.*_momentum|__.*)$')


def msra_name(blob):
    for pattern, target in MSRA_RULES:
        m = re.match(pattern, blob)
        if m:
            return 'backbone.bottom_up.' + (target(m) if callable(target) else target)
    return None


def write_safetensors(path, tensors, metadata):
    """The safetensors layout: u64 LE header length, JSON header, raw little-endian f32 data."""
    names = sorted(tensors)
    header, offset, chunks = {'__metadata__': metadata}, 0, []
    for name in names:
        data = np.ascontiguousarray(tensors[name], dtype='<f4')
        raw = data.tobytes()
        header[name] = {'dtype': 'F32', 'shape': list(data.shape), 'data_offsets': [offset, offset + len(raw)]}
        offset += len(raw)
        chunks.append(raw)
    text = json.dumps(header, separators=(',', ':')).encode()
    text += b' ' * (-len(text) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(text)))
        f.write(text)
        for raw in chunks:
            f.write(raw)


def read_safetensors(path):
    with open(path, 'rb') as f:
        n = struct.unpack('<Q', f.read(8))[0]
        header = json.loads(f.read(n))
        body = f.read()
    meta = header.pop('__metadata__', {})
    out = {k: np.frombuffer(body[v['data_offsets'][0]:v['data_offsets'][1]], '<f4').reshape(v['shape']) for k, v in header.items()}
    return out, meta


def save(path, tensors, metadata):
    try:
        from safetensors.numpy import save_file
        save_file({k: np.ascontiguousarray(v, dtype=np.float32) for k, v in tensors.items()}, path, metadata=metadata)
    except ImportError:
        write_safetensors(path, tensors, metadata)
    print(f'wrote {path}: {len(tensors)} tensors, metadata {metadata}')


def from_torchvision(args):
    import torch
    if args.checkpoint:
        state = torch.load(args.checkpoint, map_location='cpu')
        state = state.get('model', state) if isinstance(state, dict) else state
    else:
        import torchvision
        state = torchvision.models.get_model(args.arch, weights=args.weights).state_dict()
    out = {}
    for name, value in state.items():
        if name.endswith('num_batches_tracked'):
            continue
        if args.detection:
            # torchvision detectors: backbone.body.* is the ResNet, backbone.fpn.* the pyramid.
            if name.startswith('backbone.body.'):
                out['backbone.' + name[len('backbone.body.'):]] = value
            elif name.startswith('backbone.fpn.'):
                out['fpn.' + name[len('backbone.fpn.'):]] = value
        elif not name.startswith('fc.'):
            out['backbone.' + name] = value
    return {k: v.detach().float().numpy() for k, v in out.items()}, 'torchvision'


def from_msra(args):
    with open(args.source, 'rb') as f:
        data = pickle.load(f, encoding='latin1')
    blobs = data.get('blobs', data)
    out, unknown = {}, []
    for blob, value in blobs.items():
        if MSRA_SKIP.match(blob):
            continue
        name = msra_name(blob)
        if name is None:
            unknown.append(blob)
        else:
            out[name] = np.asarray(value, dtype=np.float32)
    if unknown:
        sys.exit(f'{args.source}: blobs with no MSRA name: {", ".join(sorted(unknown)[:20])}')
    return out, 'msra'


def from_cvpods(args):
    import torch
    state = torch.load(args.source, map_location='cpu')
    state = state.get('model', state)
    out = {k: v.detach().float().numpy() for k, v in state.items() if k.startswith('backbone.') and not k.endswith('num_batches_tracked')}
    return out, 'msra'


def expected_msra_names(arch):
    """The cvpods names of a ResNet, written out directly (independently of MSRA_RULES)."""
    names = ['backbone.bottom_up.stem.conv1.weight', 'backbone.bottom_up.stem.conv1.norm.weight', 'backbone.bottom_up.stem.conv1.norm.bias']
    convs = 3 if arch in ('resnet50', 'resnet101') else 2
    for s, count in enumerate(DEPTHS[arch]):
        for i in range(count):
            base = f'backbone.bottom_up.res{s + 2}.{i}.'
            for j in range(1, convs + 1):
                names += [f'{base}conv{j}.weight', f'{base}conv{j}.norm.weight', f'{base}conv{j}.norm.bias']
            if i == 0 and (s > 0 or convs == 3):
                names += [f'{base}shortcut.weight', f'{base}shortcut.norm.weight', f'{base}shortcut.norm.bias']
    return sorted(names)


def selftest():
    """A synthetic Detectron R-50 / R-101 pickle through the MSRA map and the writer, then read back."""
    import os
    import tempfile
    rng = np.random.default_rng(0)
    for arch in ('resnet50', 'resnet101'):
        blobs = {'conv1_w': rng.standard_normal((8, 3, 7, 7)), 'res_conv1_bn_s': rng.standard_normal(8), 'res_conv1_bn_b': rng.standard_normal(8),
                 'fc1000_w': np.zeros((10, 4)), 'fc1000_b': np.zeros(10), 'conv1_w_momentum': np.zeros(1)}
        for s, count in enumerate(DEPTHS[arch]):
            for i in range(count):
                for branch in ['branch2a', 'branch2b', 'branch2c'] + (['branch1'] if i == 0 else []):
                    blobs[f'res{s + 2}_{i}_{branch}_w'] = rng.standard_normal((4, 4, 1, 1))
                    blobs[f'res{s + 2}_{i}_{branch}_bn_s'] = rng.standard_normal(4)
                    blobs[f'res{s + 2}_{i}_{branch}_bn_b'] = rng.standard_normal(4)
        with tempfile.TemporaryDirectory() as tmp:
            pkl, out = os.path.join(tmp, 'R.pkl'), os.path.join(tmp, 'R.safetensors')
            with open(pkl, 'wb') as f:
                pickle.dump({'blobs': blobs}, f)
            tensors, layout = from_msra(argparse.Namespace(source=pkl))
            write_safetensors(out, tensors, {'arch': arch, 'layout': layout})
            back, meta = read_safetensors(out)
        assert sorted(back) == expected_msra_names(arch), f'{arch}: names differ'
        assert np.array_equal(back['backbone.bottom_up.res3.0.conv2.weight'], blobs['res3_0_branch2b_w'].astype(np.float32))
        assert np.array_equal(back['backbone.bottom_up.stem.conv1.norm.bias'], blobs['res_conv1_bn_b'].astype(np.float32))
        assert meta == {'arch': arch, 'layout': 'msra'}
        print(f'selftest {arch}: {len(back)} tensors, names and values OK')


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest='mode', required=True)
    tv = sub.add_parser('torchvision', help='torchvision ResNet (ImageNet) or detector (--detection) weights')
    tv.add_argument('--arch', choices=sorted(DEPTHS), required=True)
    tv.add_argument('--weights', default='IMAGENET1K_V1', help='torchvision weights enum name (downloads)')
    tv.add_argument('--checkpoint', help='a .pth state_dict instead of downloading')
    tv.add_argument('--detection', action='store_true', help='the checkpoint is a torchvision detector with backbone.body / backbone.fpn')
    tv.add_argument('-o', '--output', required=True)
    for mode, helptext in (('msra', "Detectron's MSRA pickle (R-50.pkl)"), ('cvpods', 'a cvpods / detectron2 checkpoint')):
        q = sub.add_parser(mode, help=helptext)
        q.add_argument('source')
        q.add_argument('--arch', choices=sorted(DEPTHS), required=True)
        q.add_argument('-o', '--output', required=True)
    sub.add_parser('selftest', help='check the MSRA name map and the writer offline')
    args = p.parse_args()
    if args.mode == 'selftest':
        return selftest()
    tensors, layout = {'torchvision': from_torchvision, 'msra': from_msra, 'cvpods': from_cvpods}[args.mode](args)
    source = getattr(args, 'checkpoint', None) or getattr(args, 'source', None) or f'torchvision {args.arch} {args.weights}'
    save(args.output, tensors, {'arch': args.arch, 'layout': layout, 'source': str(source), 'converter': 'dynhead examples/convert-torchvision'})


if __name__ == '__main__':
    main()
