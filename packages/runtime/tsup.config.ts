import { defineConfig } from 'tsup';
import { libraryConfigWithBrowser } from '../../tsup.base';

// tfjs-core's gradient and chained-op registrations are extension-less ESM that Node cannot
// import, so they are bundled in; every other tfjs-core import stays external (one engine).
// Dawn's set-up in Node reads files (fs, os, path): stubs in the browser build (dist/browser).
export default defineConfig(
  libraryConfigWithBrowser({ fs: 'builtin', os: 'builtin', path: 'builtin' }, { noExternal: [/tfjs-core\/dist\/(register_all_gradients|public\/chained_ops)/] }),
);
