import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { backboneParity } from '@dynhead/fpn';
import { headParity } from '@dynhead/router';
import { parseSafetensors } from '@dynhead/safetensors';
import { activateBackend, note, report, UserError } from '../context';

interface ParityFlags {
  golden?: string;
  gradients: boolean;
}

interface GroupLine {
  worst: number;
  tolerance: number;
  ok: boolean;
  worstTensor?: string;
}

function table(file: string, backend: string, ok: boolean, worst: number, groups: Record<string, GroupLine>): string {
  const width = Math.max(5, ...Object.keys(groups).map((g) => g.length));
  const lines = [`${file} on ${backend}: ${ok ? 'PASS' : 'FAIL'} (worst relative L2 error ${worst.toExponential(2)})`];
  lines.push(`  ${'group'.padEnd(width)}  worst      tolerance  ok   worst tensor`);
  for (const [name, g] of Object.entries(groups)) {
    lines.push(`  ${name.padEnd(width)}  ${g.worst.toExponential(2).padEnd(9)}  ${g.tolerance.toExponential(0).padEnd(9)}  ${g.ok ? 'yes' : 'NO '}  ${g.worstTensor ?? ''}`);
  }
  return lines.join('\n');
}

export function register(program: Command): void {
  program
    .command('parity')
    .description('compare dynhead with a golden file of the official PyTorch code (head: SPEC section 4; backbone files: metadata `arch`)')
    .option('--golden <file>', 'golden .safetensors file')
    .option('--no-gradients', "head files: skip the objective's gradients (the slowest part)")
    .action(async (f: ParityFlags, cmd: Command) => {
      if (!f.golden) throw new UserError('parity: --golden FILE.safetensors is required');
      const file = parseSafetensors(new Uint8Array(readFileSync(f.golden)), f.golden);
      const backend = await activateBackend(cmd);
      note(cmd, `parity: ${f.golden} on ${backend.name} (${backend.detail})`);
      let result: { ok: boolean; worst: number; groups: Record<string, GroupLine> };
      try {
        if (file.metadata.arch !== undefined) {
          const r = await backboneParity(file, { source: f.golden });
          result = { ok: r.ok, worst: r.worst, groups: r.groups };
        } else {
          const r = await headParity(file, { source: f.golden, gradients: f.gradients });
          result = { ok: r.ok, worst: r.worst, groups: r.groups as Record<string, GroupLine> };
        }
      } catch (e) {
        throw new UserError(`parity: ${(e as Error).message}`);
      }
      report(cmd, result, () => table(f.golden as string, backend.name, result.ok, result.worst, result.groups));
      if (!result.ok) {
        const failed = Object.entries(result.groups).filter(([, g]) => !g.ok).map(([n]) => n);
        throw new UserError(`parity: ${failed.join(', ')} out of tolerance`, 1);
      }
    });
}
