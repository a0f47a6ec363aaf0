import { fcosDynamicTiny } from '@dynhead/detectors';
import { serializeSafetensors } from '@dynhead/safetensors';
import { describe, expect, it } from 'vitest';
import { checkpointWeights, demoConfig, readCheckpointJson } from '../src/pipeline';

const t = (v: number) => ({ dtype: 'float32' as const, shape: [1], data: Float32Array.of(v) });

describe('demo inputs', () => {
  it('takes the model weights of a training checkpoint and drops the optimizer state', () => {
    const bytes = serializeSafetensors(new Map([['model.head.x', t(1)], ['optimizer.momentum.head.x', t(2)]]));
    const w = checkpointWeights(bytes, 'ck.safetensors');
    expect([...w.keys()]).toEqual(['head.x']);
    expect(w.get('head.x')?.data[0]).toBe(1);
    // A bare state dict is taken as it is.
    expect([...checkpointWeights(serializeSafetensors(new Map([['head.x', t(3)]])), 'sd.safetensors').keys()]).toEqual(['head.x']);
  });

  it("reads a checkpoint.json's config and weights file, naming the file and field at fault", () => {
    const good = JSON.stringify({ format: 'dynhead-checkpoint/1', weights: 'model_0000160.safetensors', config: fcosDynamicTiny });
    const r = readCheckpointJson(good, 'runs/x/checkpoint.json');
    expect(r.weights).toBe('model_0000160.safetensors');
    expect(r.config.name).toBe(fcosDynamicTiny.name);
    expect(r.classNames).toBeUndefined();
    const named = JSON.parse(good);
    named.categories = [
      { id: 1, name: 'RBC' },
      { id: 2, name: 'WBC' },
      { id: 3, name: 'Platelets' },
    ];
    expect(readCheckpointJson(JSON.stringify(named), 'c.json').classNames).toEqual(['RBC', 'WBC', 'Platelets']);
    named.categories = ['RBC'];
    expect(() => readCheckpointJson(JSON.stringify(named), 'c.json')).toThrow('c.json: field "categories" must be a list of {id, name}');
    expect(() => readCheckpointJson('{', 'a.json')).toThrow(/^a\.json: not JSON/);
    expect(() => readCheckpointJson('{"format":"x"}', 'a.json')).toThrow('a.json: format is "x", expected "dynhead-checkpoint/1"');
    expect(() => readCheckpointJson('{"format":"dynhead-checkpoint/1"}', 'a.json')).toThrow('a.json: field "weights"');
    expect(() => readCheckpointJson('{"format":"dynhead-checkpoint/1","weights":"w","config":{}}', 'a.json')).toThrow('a.json: field "config"');
  });

  it('names the known configs for an unknown one', () => {
    expect(demoConfig().name).toBe(fcosDynamicTiny.name);
    expect(() => demoConfig('nope')).toThrow(/config 'nope' is unknown; known: .*fcos-dynamic-tiny/);
  });
});
