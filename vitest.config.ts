import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const root = fileURLToPath(new URL('.', import.meta.url));
const packages = readdirSync(`${root}packages`);

// Tests run against the sources: each @dynhead/* import resolves to packages/*/src/index.ts.
const alias = Object.fromEntries(packages.map((p) => [`@dynhead/${p}`, `${root}packages/${p}/src/index.ts`]));

export default defineConfig({
  resolve: { alias },
  test: {
    // tfjs-core's gradient registrations are extension-less ESM: let vite transform them.
    server: { deps: { inline: [/tfjs-core\/dist\/(register_all_gradients|public\/chained_ops|gradients|ops)/] } },
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    fileParallelism: true,
    maxWorkers: 2,
    projects: [
      ...packages.map((p) => ({ extends: true as const, test: { name: p, include: [`packages/${p}/src/**/*.test.ts`] } })),
      { extends: true as const, test: { name: 'examples', include: ['examples/*/src/**/*.test.ts', 'examples/*/test/**/*.test.ts'] } },
      { extends: true as const, test: { name: 'benchmarks', include: ['benchmarks/src/**/*.test.ts'] } },
      { extends: true as const, test: { name: 'repo', include: ['test/**/*.test.ts'] } },
    ],
  },
});
