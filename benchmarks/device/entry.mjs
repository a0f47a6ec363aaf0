// The device bundle's entry (pack.sh): the CLI with @dynhead/benchmarks bundled beside it. The CLI
// imports that private package by a specifier computed at run time, which esbuild leaves alone, so
// the bundle carries a stub package of that name that hands over this copy (one tfjs for both).
import * as benchmarks from '@dynhead/benchmarks';

globalThis.dynheadBenchmarks = benchmarks;
await import('../../packages/cli/bin/dynhead.js');
