import type { Command } from 'commander';
import { BACKEND_NAMES, type BackendName, defaultBackend, useBackend } from '@dynhead/runtime';
import { globalOptions, report, UserError } from '../context';

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

/** Tries each backend in turn, then leaves the chosen (or default) one active. */
export async function probeBackends(chosen?: string): Promise<BackendsReport> {
  const backends: BackendProbe[] = [];
  for (const name of BACKEND_NAMES) {
    try {
      const got = await useBackend(name);
      backends.push({ name, available: true, detail: got.detail });
    } catch (e) {
      backends.push({ name, available: false, detail: (e as Error).message });
    }
  }
  const wanted = chosen ?? defaultBackend();
  const probe = backends.find((b) => b.name === wanted);
  const active = probe?.available ? await useBackend(wanted) : null;
  return { backends, active: active && { name: active.name, detail: active.detail } };
}

function table(r: BackendsReport): string {
  const width = Math.max(...r.backends.map((b) => b.name.length));
  const lines = r.backends.map((b) => {
    const mark = r.active?.name === b.name ? '*' : ' ';
    return `${mark} ${b.name.padEnd(width)}  ${b.available ? 'ok  ' : 'no  '}  ${b.detail}`;
  });
  lines.push(r.active ? `active: ${r.active.name} (${r.active.detail})` : 'active: none');
  return lines.join('\n');
}

export function register(program: Command): void {
  program
    .command('backends')
    .description('list the tfjs backends, which load on this machine, and the active one')
    .action(async (_opts: unknown, cmd: Command) => {
      const { backend } = globalOptions(cmd);
      const r = await probeBackends(backend);
      report(cmd, r, () => table(r));
      if (!r.active) {
        const why = r.backends.find((b) => b.name === (backend ?? defaultBackend()))?.detail;
        throw new UserError(`backend '${backend ?? defaultBackend()}' is not available: ${why}`);
      }
    });
}
