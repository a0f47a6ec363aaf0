import type { Options } from 'tsup';

/** One build for every library package: ESM + CJS + .d.ts, dependencies and peers left external. */
export function libraryConfig(overrides: Options = {}): Options {
  return {
    entry: ['src/index.ts'],
    format: ['esm', 'cjs'],
    dts: true,
    sourcemap: true,
    clean: true,
    target: 'es2022',
    platform: 'neutral',
    splitting: false,
    treeshake: true,
    ...overrides,
  };
}
