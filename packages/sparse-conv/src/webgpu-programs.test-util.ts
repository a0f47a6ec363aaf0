import * as tf from '@tensorflow/tfjs-core';

/** `run`'s value and, on webgpu, the kinds (shader-key prefixes) of the programs it dispatches with their counts (elsewhere null). */
export async function programsOf<T>(run: () => Promise<T>): Promise<{ value: T; kinds: Map<string, number> | null }> {
  const be = tf.backend() as unknown as { runWebGPUProgram?: (program: { shaderKey: string }, ...rest: unknown[]) => unknown };
  const original = be.runWebGPUProgram;
  if (!original) return { value: await run(), kinds: null };
  const kinds = new Map<string, number>();
  be.runWebGPUProgram = (program, ...rest) => {
    const kind = program.shaderKey.split('_')[0];
    kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
    return original.call(be, program, ...rest);
  };
  try {
    return { value: await run(), kinds };
  } finally {
    be.runWebGPUProgram = original;
  }
}
