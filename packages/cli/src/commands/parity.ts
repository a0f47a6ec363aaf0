import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { backboneParity } from '@dynhead/fpn';
import { headParity } from '@dynhead/router';
import { parseSafetensors } from '@dynhead/safetensors';
import { activateBackend, note, report, UserError } from '../context';

interface ParityFlags {
  golden?: string;
  gradients: boolean;
  top?: string;
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
    .option('--top <n>', 'also list the n tensors with the largest errors (head files; JSON key "worstTensors")')
    .action(async (f: ParityFlags, cmd: Command) => {
      if (!f.golden) throw new UserError('parity: --golden FILE.safetensors is required');
      const file = parseSafetensors(new Uint8Array(readFileSync(f.golden)), f.golden);
      const backend = await activateBackend(cmd);
      note(cmd, `parity: ${f.golden} on ${backend.name} (${backend.detail})`);
      const top = f.top === undefined ? 0 : Number(f.top);
      if (!Number.isInteger(top) || top < 0) throw new UserError(`--top: expected a non-negative integer, got '${f.top}'`);
      let result: { ok: boolean; worst: number; groups: Record<string, GroupLine>; worstTensors?: Record<string, number> };
      try {
        if (file.metadata.arch !== undefined) {
          const r = await backboneParity(file, { source: f.golden });
          result = { ok: r.ok, worst: r.worst, groups: r.groups };
        } else {
          const r = await headParity(file, { source: f.golden, gradients: f.gradients });
          result = { ok: r.ok, worst: r.worst, groups: r.groups as Record<string, GroupLine> };
          if (top > 0) result.worstTensors = Object.fromEntries(Object.entries(r.errors).sort((a, b) => b[1] - a[1]).slice(0, top));
        }
      } catch (e) {
        throw new UserError(`parity: ${(e as Error).message}`);
      }
      report(cmd, result, () => {
        const lines = [table(f.golden as string, backend.name, result.ok, result.worst, result.groups)];
        for (const [name, err] of Object.entries(result.worstTensors ?? {})) lines.push(`  ${err.toExponential(2)}  ${name}`);
        return lines.join('\n');
      });
      if (!result.ok) {
        const failed = Object.entries(result.groups).filter(([, g]) => !g.ok).map(([n]) => n);
        throw new UserError(`parity: ${failed.join(', ')} out of tolerance`, 1);
      }
    });
}
