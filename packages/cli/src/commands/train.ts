import type { Command } from 'commander';
import { hasCheckpoint, interruptOnSignals, runTrain } from '@dynhead/detectors';
import { activateBackend, note, report, UserError } from '../context';

interface TrainFlags {
  config: string;
  ann: string;
  images: string;
  out: string;
  iters?: string;
  resume: boolean;
  logFormat: string;
  valAnn?: string;
  valImages?: string;
  evalPeriod?: string;
  evalLimit?: string;
  batchSize?: string;
  lr?: string;
}

const int = (flag: string, v: string | undefined) => {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new UserError(`${flag}: expected a non-negative integer, got '${v}'`);
  return n;
};

export function register(program: Command): void {
  program
    .command('train')
    .description('train a detector (checkpoints, metrics.jsonl, loss/AP plots in --out; --resume continues)')
    .requiredOption('--config <name>', 'detector config name (see `dynhead flops --list`)')
    .requiredOption('--ann <file>', 'training annotations (COCO JSON)')
    .requiredOption('--images <dir>', 'training images folder')
    .requiredOption('--out <dir>', 'output folder (checkpoints, logs, plots)')
    .option('--iters <n>', 'iterations (default: the config)')
    .option('--resume', 'continue from the checkpoint in --out', false)
    .option('--log-format <fmt>', 'bar (TTY progress bar, plain lines otherwise), plain, jsonl or none', 'bar')
    .option('--val-ann <file>', 'validation annotations for periodic and final evaluation')
    .option('--val-images <dir>', 'validation images folder (default: --images)')
    .option('--eval-period <n>', 'evaluate every n iterations (0: at the end only)')
    .option('--eval-limit <n>', 'periodic evaluations use at most n val images')
    .option('--batch-size <n>', 'images per batch (default: the config)')
    .option('--lr <x>', 'base learning rate (default: the config)')
    .action(async (f: TrainFlags, cmd: Command) => {
      if (!['bar', 'plain', 'jsonl', 'none'].includes(f.logFormat)) throw new UserError(`--log-format: expected bar, plain, jsonl or none, got '${f.logFormat}'`);
      const lr = f.lr === undefined ? undefined : Number(f.lr);
      if (lr !== undefined && !(lr > 0)) throw new UserError(`--lr: expected a positive number, got '${f.lr}'`);
      const backend = await activateBackend(cmd);
      note(cmd, `backend: ${backend.name} (${backend.detail})`);
      const interrupt = interruptOnSignals((line) => note(cmd, line));
      let r: Awaited<ReturnType<typeof runTrain>>;
      try {
        r = await runTrain({
          config: f.config,
          ann: f.ann,
          images: f.images,
          out: f.out,
          iters: int('--iters', f.iters),
          resume: f.resume,
          logFormat: f.logFormat as 'bar',
          valAnn: f.valAnn,
          valImages: f.valImages,
          evalPeriod: int('--eval-period', f.evalPeriod),
          evalLimit: int('--eval-limit', f.evalLimit),
          batchSize: int('--batch-size', f.batchSize),
          lr,
          signal: interrupt.signal,
        });
      } finally {
        interrupt.dispose();
      }
      // 130: interrupted, as a shell reports Ctrl-C; the message says how to go on
      if (r.interrupted) {
        throw new UserError(
          hasCheckpoint(f.out) ? `interrupted at iteration ${r.iteration}; checkpoint in ${f.out}; --resume continues` : 'interrupted before the first iteration; nothing saved',
          130,
        );
      }
      report(cmd, r, () =>
        r.final
          ? `trained ${r.iteration} iterations; val AP ${r.final.stats[0].toFixed(4)} AP50 ${r.final.stats[1].toFixed(4)}; head GFLOPs avg ${r.final.flops.avg.toFixed(4)} min ${r.final.flops.min.toFixed(4)} max ${r.final.flops.max.toFixed(4)}`
          : `trained ${r.iteration} iterations; checkpoint in ${f.out}`,
      );
    });
}
