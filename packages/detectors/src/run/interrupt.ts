/**
 * Ctrl-C (SIGINT) or SIGTERM during training: the first aborts `signal`, so that train() completes
 * the iteration in progress, checkpoints it and returns (resume then loses nothing), and tells the
 * user so through `say`; a second one exits at once with 130, as an interrupted process does.
 * `dispose` removes the handlers.
 */
export function interruptOnSignals(say: (line: string) => void = () => {}): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const handler = (sig: NodeJS.Signals) => {
    if (controller.signal.aborted) process.exit(130);
    say(`\n${sig}: stopping after this iteration and saving a checkpoint (again to quit at once)\n`);
    controller.abort();
  };
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];
  for (const sig of signals) process.on(sig, handler);
  return {
    signal: controller.signal,
    dispose: () => {
      for (const sig of signals) process.off(sig, handler);
    },
  };
}
