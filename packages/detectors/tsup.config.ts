import { defineConfig } from 'tsup';
import { libraryConfigWithBrowser } from '../../tsup.base';

// Checkpoints, COCO files, plots and the progress bar need Node; the models, losses and
// post-processing run in a browser too (dist/browser).
export default defineConfig(libraryConfigWithBrowser({ fs: 'builtin', path: 'builtin', 'cli-progress': ['default'], pngjs: ['PNG'] }));
