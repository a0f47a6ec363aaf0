import { defineConfig } from 'tsup';
import { libraryConfig } from '../../tsup.base';

// The CLI runs in Node only (the bin imports dist/index.js).
export default defineConfig(libraryConfig({ platform: 'node', target: 'node20' }));
