import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ImageDecodeError } from '@dynhead/coco';
import { InputError, NonFiniteLossError } from '@dynhead/detectors';
import { parseSafetensors } from '@dynhead/safetensors';
import { afterEach, describe, expect, it } from 'vitest';
import type { Command } from 'commander';
import { activateBackend, bufferIO, buildProgram, main, UserError } from './index';
import * as commands from './commands/index';

const capture = bufferIO;

const savedEnv = { ...process.env };
afterEach(() => {
  for (const k of ['DYNHEAD_BACKEND', 'DYNHEAD_DEBUG']) {
    if (savedEnv[k] === undefined) delete process.env[k];
    else process.env[k] = savedEnv[k];
  }
});

describe('dynhead main(argv)', () => {
  it('--help lists every registered command and the global options, exit 0', async () => {
    const io = capture();
    expect(await main(['--help'], io)).toBe(0);
    expect(io.stdout).toMatch(/Usage: dynhead/);
    expect(io.stdout).toMatch(/--backend <name>/);
    expect(io.stdout).toMatch(/--json/);
    const names = buildProgram().commands.map((c) => c.name());
    expect(names.length).toBeGreaterThanOrEqual(Object.keys(commands).length);
    for (const name of names) expect(io.stdout).toMatch(new RegExp(`^  ${name}\\b`, 'm'));
    expect(io.stdout).toMatch(/backends\s+list the tfjs backends/);
  });

  it('an unknown option fails with exit 1 and a one-line message, no stack', async () => {
    const io = capture();
    expect(await main(['--bogus'], io)).toBe(1);
    expect(io.stderr.split('\n')[0]).toBe("error: unknown option '--bogus'");
    expect(io.stderr).not.toMatch(/\n\s+at /);
  });

  it('an unknown command fails with exit 1 and suggests the nearest one', async () => {
    const io = capture();
    expect(await main(['backend'], io)).toBe(1);
    expect(io.stderr).toMatch(/unknown command 'backend'/);
    expect(io.stderr).toMatch(/Did you mean backends\?/);
  });

  it('bench --webgpu-tuning takes gpu or swiftshader, and it, --levels-apart and --towers-apart only with --backend webgpu', async () => {
    let io = capture();
    expect(await main(['bench', 'head', '--webgpu-tuning', 'fast'], io)).toBe(1);
    expect(io.stderr).toMatch(/--webgpu-tuning: expected gpu or swiftshader, got 'fast'/);
    io = capture();
    expect(await main(['bench', 'head', '--webgpu-tuning', 'gpu:gatePixels=2,speed=3'], io)).toBe(1);
    expect(io.stderr).toMatch(/--webgpu-tuning: unknown knob 'speed'; known: depthwiseMapRows, /);
    io = capture();
    expect(await main(['bench', 'head', '--webgpu-tuning', 'listThreads=3'], io)).toBe(1);
    expect(io.stderr).toMatch(/--webgpu-tuning: listThreads cannot be 3/);
    io = capture();
    expect(await main(['--backend', 'cpu', 'bench', 'head', '--webgpu-tuning', 'gpu', '--no-write'], io)).toBe(1);
    expect(io.stderr).toMatch(/--webgpu-tuning applies to --backend webgpu, not cpu/);
    io = capture();
    expect(await main(['--backend', 'cpu', 'bench', 'head', '--levels-apart', '--no-write'], io)).toBe(1);
    expect(io.stderr).toMatch(/--levels-apart applies to bench head on --backend webgpu, not bench head on cpu/);
    io = capture();
    expect(await main(['--backend', 'wasm', 'bench', 'head', '--towers-apart', '--no-write'], io)).toBe(1);
    expect(io.stderr).toMatch(/--towers-apart applies to bench head on --backend webgpu, not bench head on wasm/);
  });

  it('--tfjs-flags (any command) takes NAME=VALUE pairs of flags tfjs knows', async () => {
    let io = capture();
    expect(await main(['--backend', 'cpu', 'bench', 'head', '--tfjs-flags', 'fast', '--no-write'], io)).toBe(1);
    expect(io.stderr).toMatch(/--tfjs-flags: expected NAME=VALUE \(an upper-case tfjs flag\), got 'fast'/);
    io = capture();
    expect(await main(['--backend', 'cpu', 'bench', 'head', '--tfjs-flags', 'NO_SUCH_FLAG=3', '--no-write'], io)).toBe(1);
    expect(io.stderr).toMatch(/--tfjs-flags: Cannot set flag NO_SUCH_FLAG as it has not been registered/);
  });

  it('a misspelt --backend fails before the command runs and lists the backends', async () => {
    const io = capture();
    expect(await main(['--backend', 'cuda', 'backends'], io)).toBe(1);
    expect(io.stderr).toBe("dynhead: --backend/DYNHEAD_BACKEND: unknown backend 'cuda'; available: cpu, wasm, webgpu, tensorflow\n");
    expect(io.stdout).toBe('');
  });

  it('DYNHEAD_BACKEND is read like --backend', async () => {
    process.env.DYNHEAD_BACKEND = 'nope';
    const io = capture();
    expect(await main(['backends'], io)).toBe(1);
    expect(io.stderr).toMatch(/unknown backend 'nope'/);
  });

  it('backends --json reports cpu and wasm loaded, tensorflow missing with the package to install', async () => {
    const io = capture();
    expect(await main(['--backend', 'cpu', '--json', 'backends'], io)).toBe(0);
    const r = JSON.parse(io.stdout) as { backends: { name: string; available: boolean; detail: string }[]; active: { name: string } };
    expect(r.active.name).toBe('cpu');
    const byName = Object.fromEntries(r.backends.map((b) => [b.name, b]));
    expect(byName.cpu.available).toBe(true);
    expect(byName.wasm.available).toBe(true);
    expect(byName.wasm.detail).toMatch(/simd=/);
    expect(byName.tensorflow.available).toBe(false);
    expect(byName.tensorflow.detail).toMatch(/@tensorflow\/tfjs-node/);
  });

  it('backends without --json prints a table marking the active backend', async () => {
    const io = capture();
    expect(await main(['-b', 'wasm', 'backends'], io)).toBe(0);
    expect(io.stdout).toMatch(/^\* wasm\s+ok\s+simd=/m);
    expect(io.stdout).toMatch(/^active: wasm/m);
  });

  it('choosing the unavailable tensorflow backend exits 1 naming the package', async () => {
    const io = capture();
    expect(await main(['--backend', 'tensorflow', 'backends'], io)).toBe(1);
    expect(io.stderr.trim().split('\n')).toHaveLength(1);
    expect(io.stderr).toMatch(/^dynhead: backend 'tensorflow' is not available: .*@tensorflow\/tfjs-node-gpu.*; available here: cpu, wasm/);
  });
});

it('--version prints the package version', async () => {
  const io = capture();
  expect(await main(['--version'], io)).toBe(0);
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  expect(io.stdout).toBe(`${pkg.version}\n`);
});

describe('errors thrown by commands', () => {
  // A program with one extra command that fails the given way, run through main() like the real ones.
  async function failWith(error: unknown): Promise<{ code: number; io: ReturnType<typeof capture> }> {
    const program = buildProgram();
    program.command('fail').action(async () => {
      throw error;
    });
    const io = capture();
    return { code: await main(['fail'], io, program), io };
  }

  it('a UserError prints one line naming the fault and exits 1', async () => {
    const { code, io } = await failWith(new UserError('annotations.json: images[3].width must be a positive number'));
    expect(code).toBe(1);
    expect(io.stderr).toBe('dynhead: annotations.json: images[3].width must be a positive number\n');
  });

  it('a missing file is a user error', async () => {
    const { code, io } = await failWith(Object.assign(new Error("ENOENT: no such file or directory, open 'x.json'"), { code: 'ENOENT' }));
    expect(code).toBe(1);
    expect(io.stderr).toBe("dynhead: ENOENT: no such file or directory, open 'x.json'\n");
  });

  it('a bug exits 70 with one line; DYNHEAD_DEBUG=1 adds the stack', async () => {
    const bug = await failWith(new TypeError('x is undefined'));
    expect(bug.code).toBe(70);
    expect(bug.io.stderr).toBe('dynhead: internal error: x is undefined (DYNHEAD_DEBUG=1 shows the stack)\n');
    process.env.DYNHEAD_DEBUG = '1';
    const debug = await failWith(new TypeError('x is undefined'));
    expect(debug.code).toBe(70);
    expect(debug.io.stderr).toMatch(/^dynhead: internal error: x is undefined\nTypeError: x is undefined\n\s+at /);
  });

  it('activateBackend turns an unavailable backend into one line naming what loads here', async () => {
    const program = buildProgram();
    program.command('needs-backend').action(async (_o: unknown, cmd: Command) => {
      await activateBackend(cmd);
    });
    const io = capture();
    expect(await main(['--backend', 'tensorflow', 'needs-backend'], io, program)).toBe(1);
    expect(io.stderr).toMatch(/^dynhead: backend 'tensorflow' needs @tensorflow\/tfjs-node-gpu .*; available here: cpu, wasm/);
    expect(io.stderr.trim().split('\n')).toHaveLength(1);
  });

  it("the packages' input errors are user errors: one line naming the fault, exit 1", async () => {
    let safetensors: unknown;
    try {
      parseSafetensors(new Uint8Array([200, 0, 0, 0, 0, 0, 0, 0, 123]), 'model.safetensors');
    } catch (e) {
      safetensors = e;
    }
    const cases: [unknown, string][] = [
      [new InputError('ann.json: annotations[4].bbox must be 4 finite numbers [x, y, w, h]'), 'ann.json: annotations[4].bbox must be 4 finite numbers [x, y, w, h]'],
      [new ImageDecodeError('cannot decode image a.jpg: corrupt or truncated image data'), 'cannot decode image a.jpg: corrupt or truncated image data'],
      [new NonFiniteLossError('training stopped: loss is NaN at iteration 7; no checkpoint was written yet'), 'training stopped: loss is NaN at iteration 7; no checkpoint was written yet'],
      [safetensors, 'model.safetensors: header length 200 does not fit in a file of 9 bytes (not a safetensors file?)'],
    ];
    for (const [error, line] of cases) {
      const { code, io } = await failWith(error);
      expect(code, line).toBe(1);
      expect(io.stderr).toBe(`dynhead: ${line}\n`);
    }
  });

  it('eval on a broken checkpoint names the file at fault and exits 1', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dynhead-cli-'));
    try {
      const ann = join(dir, 'ann.json');
      writeFileSync(ann, '{}');
      const run = async () => {
        const io = capture();
        return { code: await main(['--backend', 'cpu', 'eval', '--checkpoint', dir, '--ann', ann, '--images', dir], io), io };
      };
      writeFileSync(join(dir, 'checkpoint.json'), '{"format":');
      let r = await run();
      expect(r.code).toBe(1);
      expect(r.io.stderr).toMatch(new RegExp(`\\ndynhead: ${join(dir, 'checkpoint.json')}: not valid JSON \\(.+\\)\n$`));
      writeFileSync(join(dir, 'checkpoint.json'), JSON.stringify({ format: 'dynhead-checkpoint/1', iteration: 2, weights: 'model_0000002.safetensors' }));
      writeFileSync(join(dir, 'model_0000002.safetensors'), new Uint8Array(5));
      r = await run();
      expect(r.code).toBe(1);
      expect(r.io.stderr).toBe(`backend: cpu (cpu)\ndynhead: ${join(dir, 'model_0000002.safetensors')}: file is 5 bytes, too short for a safetensors header\n`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a UserError can carry its own exit code', async () => {
    const { code } = await failWith(new UserError('2 images failed validation', 3));
    expect(code).toBe(3);
  });
});
