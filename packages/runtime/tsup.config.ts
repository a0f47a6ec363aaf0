import { defineConfig } from 'tsup';
import { libraryConfig } from '../../tsup.base';

// tfjs-core's gradient and chained-op registrations are extension-less ESM that Node cannot
// import, so they are bundled in; every other tfjs-core import stays external (one engine).
export default defineConfig(libraryConfig({ noExternal: [/tfjs-core\/dist\/(register_all_gradients|public\/chained_ops)/] }));
