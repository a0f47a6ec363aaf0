import { describe, expect, it } from 'vitest';
import { activate } from '../../test/backends';
import { runSparseConvBench, sparseConvTable } from './sparse-conv';

describe('sparse-conv bench', () => {
  it('times every kind x batch x pattern x density and reports sparse/dense ratios', async () => {
    await activate('cpu');
    const r = await runSparseConvBench({
      height: 6,
      width: 7,
      channels: 4,
      batches: [1, 2],
      densities: [0, 0.5, 1],
      repeats: 1,
      warmup: 0,
      compareMethods: true,
    });
    expect(r.rows).toHaveLength(2 * 2 * 2 * 3);
    for (const row of r.rows) {
      expect(row.backend).toBe('cpu');
      expect(row.ratio).toBeCloseTo(row.sparseMs / row.denseMs, 12);
      expect(Object.keys(row.methodMs ?? {}).sort()).toEqual(['compact', 'dense', 'gather', 'kernel']);
    }
    const table = sparseConvTable(r);
    expect(table.split('\n')).toHaveLength(2 + r.rows.length);
    expect(table).toContain('| cpu | conv3x3 | 2 | blob | 0.5 |');
  });
});
