import * as tf from '@tensorflow/tfjs-core';
import { type BackendName, BackendUnavailableError, BACKEND_NAMES, defaultBackend, isNode, parseBackendName } from './backend-names';
import { type BindGroupDevice, installBindGroupCache } from './bind-group-cache';
import { installUniformCache, type UniformBackend } from './uniform-cache';
import './gradients';
import { registerKernelFixes } from './kernels';
import { isSoftwareAdapter, setDawnTickSlowing } from './dawn-ticks';
import { installNodeWebGPU } from './node-webgpu';

export interface UseBackendOptions {
  /** Browser only: where tfjs-backend-wasm's .wasm files are served from. */
  wasmPaths?: string | Record<string, string>;
  /**
   * webgpu: reuse a bind group where a dispatch binds exactly the buffers an earlier one of its
   * pipeline bound (bind-group-cache.ts; default true, and DYNHEAD_BIND_GROUP_CACHE=0 turns it off).
   */
  bindGroupCache?: boolean;
  /**
   * webgpu: keep one uniform buffer per distinct uniform content, written once, instead of a pool
   * buffer written every dispatch (uniform-cache.ts; default true, DYNHEAD_UNIFORM_CACHE=0 off).
   */
  uniformCache?: boolean;
}

export interface ActiveBackend {
  name: BackendName;
  /** What tfjs calls it (tfjs-node registers itself as 'tensorflow'). */
  tfjsName: string;
  /** Human-readable detail: the GPU adapter for webgpu, the SIMD/thread setting for wasm. */
  detail: string;
}

/**
 * A backend package's import failed: not installed (the user chose not to), or broken. Attached to
 * each import() as its `.catch`, which also tells bundlers (esbuild) to leave a backend that is not
 * installed to fail here, at run time, not to fail the user's bundle.
 */
function backendImportFailed(backend: BackendName, pkg: string): (e: unknown) => never {
  return (e) => {
    if (isNotInstalled(e, pkg)) throw new BackendUnavailableError(`backend '${backend}' needs ${pkg}, which is not installed: npm install ${pkg}`);
    throw e;
  };
}

/** The package that registers each backend with tfjs. */
const BACKEND_PACKAGES: Record<BackendName, string> = {
  cpu: '@tensorflow/tfjs-backend-cpu',
  wasm: '@tensorflow/tfjs-backend-wasm',
  webgpu: '@tensorflow/tfjs-backend-webgpu',
  tensorflow: '@tensorflow/tfjs-node-gpu',
};

async function loadCpu(): Promise<void> {
  await import('@tensorflow/tfjs-backend-cpu').catch(backendImportFailed('cpu', BACKEND_PACKAGES.cpu));
}

async function loadWasm(options: UseBackendOptions): Promise<void> {
  const wasm = await import('@tensorflow/tfjs-backend-wasm').catch(backendImportFailed('wasm', BACKEND_PACKAGES.wasm));
  // a bundler that stands an empty module in for the package (webpack's `alias: { pkg: false }`) leaves no setWasmPaths
  if (options.wasmPaths) wasm.setWasmPaths?.(options.wasmPaths as string);
}

async function loadWebGPU(): Promise<void> {
  if (isNode()) await installNodeWebGPU();
  else if (!(globalThis as { navigator?: { gpu?: unknown } }).navigator?.gpu) {
    throw new BackendUnavailableError('webgpu: this browser exposes no navigator.gpu (WebGPU disabled or unsupported)');
  }
  await import('@tensorflow/tfjs-backend-webgpu').catch(backendImportFailed('webgpu', BACKEND_PACKAGES.webgpu));
}

/** Node says ERR_MODULE_NOT_FOUND; bundlers and vite say it in words only. */
function isNotInstalled(e: unknown, pkg: string): boolean {
  const { code, message = '' } = e as { code?: string; message?: string };
  if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') return true;
  return message.includes(pkg) && /cannot find|could not resolve|failed to (load|resolve)|not found/i.test(message);
}

async function loadTensorflow(): Promise<void> {
  // Optional peers that cannot be installed everywhere: resolved at run time only, never bundled
  // (the comments tell Vite and webpack to leave the import as it is).
  for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
    try {
      await import(/* @vite-ignore */ /* webpackIgnore: true */ pkg);
      return;
    } catch (e) {
      if (!isNotInstalled(e, pkg)) throw e;
    }
  }
  throw new BackendUnavailableError(
    "backend 'tensorflow' needs @tensorflow/tfjs-node-gpu (CUDA) or @tensorflow/tfjs-node: npm install @tensorflow/tfjs-node-gpu",
  );
}

/** The active webgpu backend's adapter (tfjs-backend-webgpu keeps its vendor and architecture). */
function webgpuAdapterInfo(): { vendor?: string; architecture?: string } | undefined {
  return (tf.backend() as unknown as { adapterInfo?: { vendor?: string; architecture?: string } }).adapterInfo;
}

/**
 * Dawn's ticks are slowed (dawn-ticks.ts) from before the adapter is known; a hardware adapter
 * has cores to spare, and a slowed tick only delays its readbacks. DYNHEAD_DAWN_BUSY_POLL=0 keeps
 * them slowed on any adapter (=1 never slows them: node-webgpu.ts).
 */
function slowDawnTicksOnSoftwareOnly(): void {
  if (!isNode() || process.env.DYNHEAD_DAWN_BUSY_POLL === '0') return;
  const info = webgpuAdapterInfo();
  if (info) setDawnTickSlowing(isSoftwareAdapter(info));
}

/** A cache is wanted unless its option says false, or (without the option) its variable is 0. */
function cacheWanted(option: boolean | undefined, variable: string): boolean {
  return option ?? (isNode() ? process.env[variable] : undefined) !== '0';
}

async function describe(name: BackendName): Promise<string> {
  if (name === 'webgpu') {
    const info = webgpuAdapterInfo();
    return info ? `${info.vendor ?? '?'} ${info.architecture ?? ''}`.trim() : 'webgpu';
  }
  if (name === 'wasm') return `simd=${tf.env().getBool('WASM_HAS_SIMD_SUPPORT')}`;
  return name;
}

/**
 * Loads, registers and activates a backend, with dynhead's kernel fixes (training kernels that
 * wasm lacks, a fast Conv2DBackpropFilter on cpu). With no name: DYNHEAD_BACKEND, else the default.
 */
export async function useBackend(name?: BackendName | string, options: UseBackendOptions = {}): Promise<ActiveBackend> {
  const wanted = name === undefined ? defaultBackend() : parseBackendName(name);
  const tfjsName = wanted === 'tensorflow' ? 'tensorflow' : wanted;
  if (!tf.findBackendFactory(tfjsName)) {
    try {
      if (wanted === 'cpu') await loadCpu();
      else if (wanted === 'wasm') await loadWasm(options);
      else if (wanted === 'webgpu') await loadWebGPU();
      else await loadTensorflow();
    } catch (e) {
      if (e instanceof BackendUnavailableError) throw e;
      throw new BackendUnavailableError(`backend '${wanted}' could not be loaded: ${(e as Error).message}; available: ${BACKEND_NAMES.join(', ')}`);
    }
    if (!tf.findBackendFactory(tfjsName)) {
      // the import gave a module that registered nothing: a bundler stood an empty one in for the package
      throw new BackendUnavailableError(`backend '${wanted}': importing ${BACKEND_PACKAGES[wanted]} registered no backend (an empty module in its place, e.g. a bundler's alias to false?): npm install ${BACKEND_PACKAGES[wanted]}`);
    }
  }
  registerKernelFixes(tfjsName);
  let ok = false;
  try {
    ok = await tf.setBackend(tfjsName);
  } catch (e) {
    throw new BackendUnavailableError(`backend '${wanted}' failed to initialise: ${(e as Error).message}`);
  }
  if (!ok) {
    const hint = wanted === 'webgpu' && isNode() ? ' (no GPU adapter: install Debian chromium for SwiftShader, or set VK_ICD_FILENAMES)' : '';
    throw new BackendUnavailableError(`backend '${wanted}' failed to initialise${hint}`);
  }
  await tf.ready();
  if (wanted === 'webgpu') {
    slowDawnTicksOnSoftwareOnly();
    if (cacheWanted(options.bindGroupCache, 'DYNHEAD_BIND_GROUP_CACHE')) installBindGroupCache((tf.backend() as unknown as { device: BindGroupDevice }).device);
    if (cacheWanted(options.uniformCache, 'DYNHEAD_UNIFORM_CACHE')) installUniformCache(tf.backend() as unknown as UniformBackend);
  }
  return { name: wanted, tfjsName, detail: await describe(wanted) };
}
