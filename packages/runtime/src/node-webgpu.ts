import { BackendUnavailableError } from './backend-names';
import { throttleDawnTicks } from './dawn-ticks';

/**
 * Node has no navigator.gpu. tfjs-backend-webgpu registers itself at import time only when
 * navigator.gpu exists, so Dawn (the `webgpu` npm package) must be installed into globalThis
 * before the backend module is imported.
 */
export async function installNodeWebGPU(): Promise<void> {
  const g = globalThis as Record<string, unknown> & { navigator?: { gpu?: unknown } };
  if (g.navigator?.gpu) return;
  let dawn: { create: (flags: string[]) => unknown; globals: Record<string, unknown> };
  try {
    const specifier = 'webgpu';
    dawn = (await import(/* @vite-ignore */ /* webpackIgnore: true */ specifier)) as typeof dawn;
  } catch (e) {
    throw new BackendUnavailableError(`webgpu in Node needs the 'webgpu' package (Dawn): npm install webgpu (${(e as Error).message})`);
  }
  if (!process.env.VK_ICD_FILENAMES && !process.env.VK_DRIVER_FILES) {
    // Without a GPU, Dawn needs SwiftShader (Debian's chromium ships it); with one, the system driver.
    const swiftshader = '/usr/lib/chromium/vk_swiftshader_icd.json';
    const fs = await import('node:fs');
    if (fs.existsSync(swiftshader) && !fs.existsSync('/dev/nvidia0') && !fs.existsSync('/dev/dri')) {
      process.env.VK_ICD_FILENAMES = swiftshader;
    }
  }
  if (!process.env.XDG_RUNTIME_DIR) {
    // Dawn's Vulkan loader prints 'XDG_RUNTIME_DIR is invalid or not set' on every start without one.
    const [fs, os, path] = await Promise.all([import('node:fs'), import('node:os'), import('node:path')]);
    const dir = path.join(os.tmpdir(), `dynhead-xdg-${process.getuid?.() ?? 'user'}`);
    try {
      fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
      fs.chmodSync(dir, 0o700);
      process.env.XDG_RUNTIME_DIR = dir;
    } catch {
      // Only a warning from Dawn follows; not worth failing the backend for.
    }
  }
  Object.assign(globalThis, dawn.globals);
  // Dawn's busy tick loop would take the cores SwiftShader computes on (dawn-ticks.ts)
  if (process.env.DYNHEAD_DAWN_BUSY_POLL !== '1') throttleDawnTicks();
  const gpu = dawn.create([]);
  if (g.navigator) {
    Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true });
  } else {
    Object.defineProperty(globalThis, 'navigator', { value: { gpu, userAgent: 'node' }, configurable: true, writable: true });
  }
}
