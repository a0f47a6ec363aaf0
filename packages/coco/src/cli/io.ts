/** Where a command writes: stdout lines and stderr lines (injectable for tests). */
export interface CommandIO {
  out(line: string): void;
  err(line: string): void;
}

export const consoleIO: CommandIO = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
};

/** Exit code for bad input (unreadable or malformed files): the command names the problem, no stack trace. */
export const EXIT_BAD_INPUT = 2;
