import { BACKEND_NAMES, type BackendName, defaultBackend, useBackend } from '@dynhead/runtime';

export interface BackendProbe {
  name: BackendName;
  available: boolean;
  /** The adapter / SIMD detail when it loaded, else why it did not. */
  detail: string;
}

export interface BackendsReport {
  backends: BackendProbe[];
  active: { name: BackendName; detail: string } | null;
}

/** Tries each backend in turn (leaving the last one that loaded active). */
export async function probeEach(): Promise<BackendProbe[]> {
  const backends: BackendProbe[] = [];
  for (const name of BACKEND_NAMES) {
    try {
      const got = await useBackend(name);
      backends.push({ name, available: true, detail: got.detail });
    } catch (e) {
      backends.push({ name, available: false, detail: (e as Error).message });
    }
  }
  return backends;
}

/** Tries each backend, then leaves the chosen (or default) one active when it loads. */
export async function probeBackends(chosen?: string): Promise<BackendsReport> {
  const backends = await probeEach();
  const wanted = chosen ?? defaultBackend();
  const probe = backends.find((b) => b.name === wanted);
  const active = probe?.available ? await useBackend(wanted) : null;
  return { backends, active: active && { name: active.name, detail: active.detail } };
}

/** "…; available here: cpu, wasm" for error messages about a backend that did not load. */
export async function availableHint(): Promise<string> {
  const loaded = (await probeEach()).filter((b) => b.available).map((b) => b.name);
  return `available here: ${loaded.length ? loaded.join(', ') : 'none'}`;
}
