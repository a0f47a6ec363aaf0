import { defineConfig } from 'tsup';
import { libraryConfigWithBrowser } from '../../tsup.base';

// Reading files, decoding with sharp and the loader's workers need Node; the evaluator, the
// datasets built from parsed JSON and the transforms run in a browser too (dist/browser).
export default defineConfig(libraryConfigWithBrowser({ 'fs/promises': 'builtin', module: 'builtin', url: 'builtin', worker_threads: 'builtin', sharp: ['default'] }));
