import { Command, CommanderError, Option } from 'commander';
import { BackendUnavailableError, BACKEND_NAMES, parseBackendName } from '@dynhead/runtime';
import * as commands from './commands/index';
import { attachIO, type CliIO, parseTfjsFlags, processIO, UserError } from './context';
import packageJson from '../package.json';

/** This package's version (bundled from package.json, so changesets' bumps show in --version). */
export const VERSION: string = packageJson.version;

/** The `dynhead` program with every command of ./commands registered; nothing is parsed yet. */
export function buildProgram(): Command {
  const program = new Command('dynhead')
    .description('Fine-Grained Dynamic Head (Song et al., NeurIPS 2020) on TensorFlow.js')
    .version(VERSION, '-V, --version')
    .addOption(
      new Option('-b, --backend <name>', `tfjs backend: ${BACKEND_NAMES.join(', ')} (default: wasm in Node)`).env('DYNHEAD_BACKEND'),
    )
    .option('--json', 'machine-readable JSON on stdout', false)
    .option('--tfjs-flags <list>', 'tfjs environment flags set once the backend is up, e.g. WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE=64', parseTfjsFlags)
    .showSuggestionAfterError(true)
    .showHelpAfterError('(dynhead --help lists the commands and options)')
    .hook('preAction', (thisCommand) => {
      // Fail on a misspelt backend before a command spends time loading data.
      const backend = thisCommand.opts().backend as string | undefined;
      if (backend !== undefined) {
        try {
          thisCommand.setOptionValue('backend', parseBackendName(backend, '--backend/DYNHEAD_BACKEND'));
        } catch (e) {
          throw new UserError((e as Error).message);
        }
      }
    });
  for (const command of Object.values(commands)) command.register(program);
  return program;
}

/**
 * Errors the packages throw for bad input (a file, field, option or config at fault), by name: the
 * CLI's bundle may hold its own copy of a class, which `instanceof` would not match.
 */
const INPUT_ERROR_NAMES = new Set([
  'InputError', // @dynhead/detectors: checkpoints, annotation files, configs, options
  'NonFiniteLossError', // @dynhead/detectors: training diverged; the message names the last good checkpoint
  'CocoFormatError', // @dynhead/coco: datasets and results files
  'ImageDecodeError', // @dynhead/coco: an image that cannot be read or decoded
  'SafetensorsError', // @dynhead/safetensors: a weights file that is not safetensors or is cut short
  'WeightsMismatchError', // @dynhead/fpn: backbone weights that do not fit the config
  'BackboneConfigError', // @dynhead/fpn
]);

function isUserError(e: unknown): boolean {
  if (e instanceof UserError || e instanceof BackendUnavailableError) return true;
  if (e instanceof Error && INPUT_ERROR_NAMES.has(e.name)) return true;
  // Missing or unreadable input files are the user's to fix, not a bug.
  const code = (e as { code?: string })?.code;
  return code === 'ENOENT' || code === 'EACCES' || code === 'EISDIR' || code === 'ENOTDIR';
}

/**
 * Runs the CLI on `argv` (without node and the script path) and resolves to the exit code; it never
 * calls process.exit, so tests run it in-process. Errors print one line; DYNHEAD_DEBUG=1 adds the stack.
 */
export async function main(argv: string[], io: CliIO = processIO, program: Command = buildProgram()): Promise<number> {
  attachIO(program, io);
  const configure = (cmd: Command) => {
    cmd.exitOverride().configureOutput({
      writeOut: (s) => io.out(s),
      writeErr: (s) => io.err(s),
      outputError: (s, write) => write(s),
    });
    for (const sub of cmd.commands) configure(sub);
  };
  configure(program);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (e) {
    return reportError(e, io, process.env.DYNHEAD_DEBUG === '1');
  }
}

/** Prints an error the CLI caught as one line (plus the stack when debugging) and returns the exit code. */
export function reportError(e: unknown, io: CliIO, debug: boolean): number {
  if (e instanceof CommanderError) {
    // commander already printed its one-line message (or the help / version text).
    if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return 0;
    return e.exitCode || 1;
  }
  const err = e as Error | undefined;
  const message = firstLine(err?.message ?? String(e));
  const stack = debug && err?.stack ? `${err.stack}\n` : '';
  if (isUserError(e)) {
    io.err(`dynhead: ${message}\n${stack}`);
    return e instanceof UserError ? e.exitCode : 1;
  }
  io.err(`dynhead: internal error: ${message}${debug ? '' : ' (DYNHEAD_DEBUG=1 shows the stack)'}\n${stack}`);
  return 70;
}

function firstLine(message: string): string {
  return (message.split('\n').find((l) => l.trim() !== '') ?? message).trim();
}
