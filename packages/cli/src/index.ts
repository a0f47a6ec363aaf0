// Public API of @dynhead/cli.
export { buildProgram, main, reportError, VERSION } from './main';
export {
  activateBackend,
  bufferIO,
  cliIO,
  globalOptions,
  note,
  processIO,
  report,
  UserError,
  type CliIO,
  type GlobalOptions,
} from './context';
export { availableHint, probeBackends, type BackendProbe, type BackendsReport } from './probe';
