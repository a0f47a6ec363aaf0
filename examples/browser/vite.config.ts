import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import { nodeBuiltinsShim } from './node-builtins-shim';

const packages = fileURLToPath(new URL('../../packages/', import.meta.url));

// The page is built from the packages' sources (no dist needed, always current).
const alias = Object.fromEntries(readdirSync(packages).map((p) => [`@dynhead/${p}`, `${packages}${p}/src/index.ts`]));

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: './',
  resolve: { alias },
  plugins: [nodeBuiltinsShim()],
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022', chunkSizeWarningLimit: 4096 },
  logLevel: 'warn',
});
