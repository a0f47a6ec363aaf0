import * as tf from '@tensorflow/tfjs-core';
import type { Command } from 'commander';
import { type ActiveBackend, BackendUnavailableError, useBackend } from '@dynhead/runtime';
import { availableHint } from './probe';

/** A mistake by the user (bad argument, missing file, unavailable backend): one line, exit 1, no stack. */
export class UserError extends Error {
  override name = 'UserError';
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

/** Where the CLI writes; main(argv, io) lets tests capture it. */
export interface CliIO {
  out(text: string): void;
  err(text: string): void;
}

export const processIO: CliIO = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
};

/** Writers that keep what the CLI prints, for tests: `const io = bufferIO(); await main(argv, io); io.stdout`. */
export function bufferIO(): CliIO & { stdout: string; stderr: string } {
  const io = {
    stdout: '',
    stderr: '',
    out(text: string) {
      io.stdout += text;
    },
    err(text: string) {
      io.stderr += text;
    },
  };
  return io;
}

/** The options every command sees (declared on the root program). */
export interface GlobalOptions {
  /** --backend or DYNHEAD_BACKEND; undefined: the runtime's default. */
  backend?: string;
  /** --json: machine-readable output on stdout. */
  json: boolean;
  /** --tfjs-flags: tfjs environment flags set once the backend is up. */
  tfjsFlags?: TfjsFlags;
}

export type TfjsFlags = Record<string, number | boolean | string>;

/** --tfjs-flags: NAME=VALUE pairs (true / false and numbers as such, anything else a string). */
export function parseTfjsFlags(value: string): TfjsFlags {
  const flags: TfjsFlags = {};
  for (const pair of value.split(',').filter((p) => p.trim() !== '')) {
    const m = /^\s*([A-Z][A-Z0-9_]*)\s*=\s*(\S+)\s*$/.exec(pair);
    if (!m) throw new UserError(`--tfjs-flags: expected NAME=VALUE (an upper-case tfjs flag), got '${pair}'`);
    const v = m[2];
    flags[m[1]] = v === 'true' ? true : v === 'false' ? false : Number.isFinite(Number(v)) ? Number(v) : v;
  }
  return flags;
}

const ioOf = new WeakMap<Command, CliIO>();

function root(cmd: Command): Command {
  let c = cmd;
  while (c.parent) c = c.parent;
  return c;
}

/** main() attaches its writers to the root program; commands reach them through any sub-command. */
export function attachIO(program: Command, io: CliIO): void {
  ioOf.set(program, io);
}

export function cliIO(cmd: Command): CliIO {
  return ioOf.get(root(cmd)) ?? processIO;
}

export function globalOptions(cmd: Command): GlobalOptions {
  const opts = cmd.optsWithGlobals() as { backend?: string; json?: boolean; tfjsFlags?: TfjsFlags };
  return { backend: opts.backend, json: opts.json === true, tfjsFlags: opts.tfjsFlags };
}

/** Prints `data` as one JSON document under --json, else the human-readable `text`. */
export function report(cmd: Command, data: unknown, text: string | (() => string)): void {
  const io = cliIO(cmd);
  if (globalOptions(cmd).json) io.out(`${JSON.stringify(data, null, 2)}\n`);
  else {
    const t = typeof text === 'function' ? text() : text;
    io.out(t.endsWith('\n') ? t : `${t}\n`);
  }
}

/** Progress and notes go to stderr so that --json output on stdout stays parseable. */
export function note(cmd: Command, text: string): void {
  cliIO(cmd).err(text.endsWith('\n') ? text : `${text}\n`);
}

/**
 * Activates the backend chosen by --backend / DYNHEAD_BACKEND (else the default); when it does not
 * load, a UserError says why and which backends do load here.
 */
export async function activateBackend(cmd: Command): Promise<ActiveBackend> {
  const { backend, tfjsFlags } = globalOptions(cmd);
  let active: ActiveBackend;
  try {
    active = await useBackend(backend);
  } catch (e) {
    if (!(e instanceof BackendUnavailableError)) throw e;
    throw new UserError(`${e.message}; ${await availableHint()}`);
  }
  // after the backend, which registers its own flags (WEBGPU_*, WASM_*)
  for (const [name, value] of Object.entries(tfjsFlags ?? {})) {
    try {
      tf.env().set(name, value);
    } catch (e) {
      throw new UserError(`--tfjs-flags: ${(e as Error).message}`);
    }
  }
  return active;
}
