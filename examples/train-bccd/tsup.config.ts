import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'tsup';

// One self-contained script built from the packages' sources (not their dist), so a long training
// run is a fixed snapshot of the code; tfjs, sharp and the other npm packages stay external.
const packages = fileURLToPath(new URL('../../packages/', import.meta.url));
const alias = Object.fromEntries(readdirSync(packages).map((p) => [`@dynhead/${p}`, `${packages}${p}/src/index.ts`]));

export default defineConfig({
  entry: ['src/main.ts'],
  format: ['esm'],
  platform: 'node',
  target: 'node20',
  clean: true,
  sourcemap: true,
  // tfjs-core's gradient registrations are extension-less ESM: bundled, as @dynhead/runtime's build does.
  noExternal: [/^@dynhead\//, /tfjs-core\/dist\/(register_all_gradients|public\/chained_ops)/],
  external: [/^@tensorflow\/[a-z-]+$/, 'sharp', 'webgpu', 'pngjs', 'cli-progress', 'commander'],
  esbuildOptions(options) {
    options.alias = alias;
  },
});
