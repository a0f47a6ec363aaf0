// A vitest-free entry for the sparse-conv bench until `dynhead bench sparse-conv` reaches it:
//   node <bundle> --backend wasm [--quick] [--compare] [--batch 1,4] [--kinds conv3x3]
import { useBackend, type BackendName } from '@dynhead/runtime';
import { describeMachine } from './machine';
import { recordResult } from './results';
import { SPARSE_CONV_BENCH_QUICK, type SparseConvBenchOptions, type SparseConvKind, runSparseConvBench, sparseConvTable } from './sparse-conv';

function flag(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function main(): Promise<void> {
  const backend = (flag('--backend') ?? 'wasm') as BackendName;
  const active = await useBackend(backend);
  const o: Partial<SparseConvBenchOptions> = { ...(process.argv.includes('--quick') ? SPARSE_CONV_BENCH_QUICK : {}), log: (l) => console.log(l) };
  if (process.argv.includes('--compare')) o.compareMethods = true;
  const batch = flag('--batch');
  if (batch) o.batches = batch.split(',').map(Number);
  const kinds = flag('--kinds');
  if (kinds) o.kinds = kinds.split(',') as SparseConvKind[];
  const dens = flag('--densities');
  if (dens) o.densities = dens.split(',').map(Number);
  const repeats = flag('--repeats');
  if (repeats) o.repeats = Number(repeats);
  const result = await runSparseConvBench(o);
  console.log(sparseConvTable(result));
  const out = flag('--out');
  if (out) console.log('wrote', recordResult('sparse-conv', describeMachine(backend, active.detail), result, out));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
