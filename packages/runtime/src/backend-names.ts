export const BACKEND_NAMES = ['cpu', 'wasm', 'webgpu', 'tensorflow'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

/** Where no backend is named: wasm is the fastest CPU backend in Node; browsers get webgpu. */
export function defaultBackend(): BackendName {
  const env = typeof process !== 'undefined' ? process.env?.DYNHEAD_BACKEND : undefined;
  if (env) return parseBackendName(env, 'DYNHEAD_BACKEND');
  return isNode() ? 'wasm' : 'webgpu';
}

export function isNode(): boolean {
  return typeof process !== 'undefined' && !!process.versions?.node;
}

export class BackendUnavailableError extends Error {
  override name = 'BackendUnavailableError';
}

export function parseBackendName(value: string, source = 'backend'): BackendName {
  const name = value.trim().toLowerCase();
  if ((BACKEND_NAMES as readonly string[]).includes(name)) return name as BackendName;
  throw new BackendUnavailableError(`${source}: unknown backend '${value}'; available: ${BACKEND_NAMES.join(', ')}`);
}
