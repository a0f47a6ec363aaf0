import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { BCCD_IMAGES, bccdSubset, tempDirs } from '../../../../test/fixtures';

// The built command, as a user runs it (npm run build / setup.sh), so that a real signal reaches it.
const BIN = fileURLToPath(new URL('../../bin/dynhead.js', import.meta.url));
const tempDir = tempDirs('sigint');

/** Runs `dynhead ARGS`, sending SIGINT once `interruptWhen(stdout so far)` holds; resolves with the exit code and output. */
function run(args: string[], interruptWhen?: (stdout: string) => boolean): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let sent = false;
    child.stdout.on('data', (d) => {
      stdout += d;
      if (!sent && interruptWhen?.(stdout)) {
        sent = true;
        child.kill('SIGINT');
      }
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('dynhead train', () => {
  it('Ctrl-C checkpoints the iteration in progress, exits 130, and --resume goes on from it', async () => {
    const dir = tempDir();
    const { ann } = bccdSubset(dir, 'train', 4);
    const out = join(dir, 'run');
    const args = ['--backend', 'cpu', 'train', '--config', 'fcos-dynamic-tiny', '--ann', ann, '--images', BCCD_IMAGES, '--out', out, '--iters', '30', '--log-format', 'jsonl'];
    // the config checkpoints every 10 iterations: a checkpoint at 2 or 3 comes from the interrupt
    const first = await run(args, (stdout) => stdout.split('\n').length > 2);
    expect(first.stderr).toContain('SIGINT: stopping after this iteration and saving a checkpoint');
    const checkpoint = JSON.parse(readFileSync(join(out, 'checkpoint.json'), 'utf8')) as { iteration: number };
    expect(first.stderr).toContain(`dynhead: interrupted at iteration ${checkpoint.iteration}; checkpoint in ${out}; --resume continues`);
    expect(first.code).toBe(130);
    const logged = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n');
    expect(checkpoint.iteration).toBeGreaterThanOrEqual(2);
    expect(logged).toHaveLength(checkpoint.iteration);

    const second = await run([...args.slice(0, args.indexOf('--iters') + 1), String(checkpoint.iteration + 2), '--log-format', 'jsonl', '--resume']);
    expect(second.code).toBe(0);
    const iters = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).iter);
    expect(iters).toEqual(Array.from({ length: checkpoint.iteration + 2 }, (_, i) => i));
  }, 180_000);
});
