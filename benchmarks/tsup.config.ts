import { defineConfig } from 'tsup';
import { libraryConfig } from '../tsup.base';

// Private, and loaded only by the CLI (`dynhead bench NAME`) through a dynamic import: ESM for
// Node, no declarations (the CLI declares the shape it calls).
export default defineConfig(libraryConfig({ format: ['esm'], platform: 'node', dts: false }));
