// The dynhead sub-commands. Each line exports one module that has `register(program: Command)`;
// main.ts registers every export of this file. To add a command: write ./NAME.ts and append ONE
// line `export * as NAME from './NAME';` below (keep one line per command).
export * as backends from './backends';
export * as bench from './bench';
export * as cocoeval from './cocoeval';
export * as validate from './validate';
export * as train from './train';
export * as eval from './eval';
export * as infer from './infer';
export * as flops from './flops';
export * as parity from './parity';
export * as export from './export';
