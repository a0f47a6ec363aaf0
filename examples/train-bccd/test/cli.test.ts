// The example's command line, as a user meets it: run the built script (npm run build / setup.sh).
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const main = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const run = (...args: string[]) => spawnSync(process.execPath, [main, ...args], { encoding: 'utf8', timeout: 60_000 });

describe('train-bccd command line', () => {
  it('--help prints every option and exits 0 without training', () => {
    const r = run('--help');
    expect(r.status).toBe(0);
    for (const flag of ['--head conventional|fix|dynamic', '--lambda', '--iters', '--backend', '--data', '--out', '--seed', '--all', '--lambdas', '--report', '--eval-period', '--log-format', '--resume', '-h, --help']) {
      expect(r.stdout).toContain(flag);
    }
    expect(run('-h').stdout).toBe(r.stdout);
  });

  it('names an unknown option or a bad value and exits 1', () => {
    const unknown = run('--bogus');
    expect(unknown.status).toBe(1);
    expect(unknown.stderr).toContain("train-bccd: Unknown option '--bogus' (see --help)");
    const head = run('--head', 'nope');
    expect(head.status).toBe(1);
    expect(head.stderr).toContain("train-bccd: --head: expected conventional, fix, dynamic, got 'nope'");
    const iters = run('--iters', '0');
    expect(iters.status).toBe(1);
    expect(iters.stderr).toContain("train-bccd: --iters: expected a positive integer, got '0'");
  });
});
