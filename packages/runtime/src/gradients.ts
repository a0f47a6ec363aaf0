// tfjs-core's Node entry registers no gradients and no chained ops (see the ecosystem notes): a
// project that depends on tfjs-core alone must register them itself. These two modules are ESM
// files without extensions, so the package build bundles them (tsup noExternal) rather than
// leaving Node to import them.
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops';

export const gradientsRegistered = true;
