// Runs a TypeScript script of this package with the workspace sources (no dist builds needed):
// esbuild bundles it with @dynhead/* from packages/*/src and tfjs-core's extension-less gradient
// registrations; every other @tensorflow import stays external, so Node loads one tfjs engine.
//   node packages/fpn/scripts/run.mjs packages/fpn/scripts/resnet-step.ts [args...]
import { readdirSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const [entry, ...args] = process.argv.slice(2);
if (!entry) {
  console.error('usage: node packages/fpn/scripts/run.mjs <script.ts> [args...]');
  process.exit(2);
}
const alias = Object.fromEntries(readdirSync(`${root}packages`).map((p) => [`@dynhead/${p}`, `${root}packages/${p}/src/index.ts`]));
const outfile = resolve(root, 'node_modules/.cache/dynhead-fpn', `${basename(entry, '.ts')}.mjs`);
await build({
  entryPoints: [resolve(entry)],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  alias,
  logLevel: 'warning',
  plugins: [
    {
      name: 'one-tfjs-engine',
      setup(b) {
        b.onResolve({ filter: /^(@tensorflow\/|webgpu$|sharp$)/ }, (a) => (/tfjs-core\/dist\//.test(a.path) ? undefined : { path: a.path, external: true }));
      },
    },
  ],
});
// Scripts name their output files relative to the repository root.
process.chdir(root);
process.argv = [process.argv[0], outfile, ...args];
await import(pathToFileURL(outfile).href);
