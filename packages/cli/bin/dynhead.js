#!/usr/bin/env node
// The `dynhead` command: runs the built CLI (dist/, made by `npm run build`).
let cli;
try {
  cli = await import('../dist/index.js');
} catch (e) {
  if (e?.code !== 'ERR_MODULE_NOT_FOUND' || !String(e.message).includes('dist')) throw e;
  process.stderr.write('dynhead: the CLI is not built yet: run `npm run build` (or `bash scripts/setup.sh`) in the dynhead repository\n');
  process.exit(1);
}
// `dynhead --json backends | head -1`: a closed pipe ends the command quietly, not with a stack.
process.stdout.on('error', (e) => {
  if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw e;
});
process.exitCode = await cli.main(process.argv.slice(2));
