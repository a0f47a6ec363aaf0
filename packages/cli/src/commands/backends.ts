import type { Command } from 'commander';
import { defaultBackend } from '@dynhead/runtime';
import { globalOptions, report, UserError } from '../context';
import { type BackendsReport, probeBackends } from '../probe';

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
        const loaded = r.backends.filter((b) => b.available).map((b) => b.name);
        throw new UserError(`backend '${backend ?? defaultBackend()}' is not available: ${why}; available here: ${loaded.join(', ') || 'none'}`);
      }
    });
}
