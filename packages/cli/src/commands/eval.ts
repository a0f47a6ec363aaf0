import type { Command } from 'commander';
import { formatEvaluation, runEval } from '@dynhead/detectors';
import { activateBackend, note, report, UserError } from '../context';

interface EvalFlags {
  checkpoint: string;
  ann: string;
  images: string;
  limit?: string;
  results?: string;
}

export function register(program: Command): void {
  program
    .command('eval')
    .description("evaluate a checkpoint: pycocotools' summary and head GFLOPs avg/min/max (--json for numbers)")
    .requiredOption('--checkpoint <dir>', 'a training output folder (checkpoint.json + safetensors)')
    .requiredOption('--ann <file>', 'annotations (COCO JSON)')
    .requiredOption('--images <dir>', 'images folder')
    .option('--limit <n>', 'evaluate the first n images only')
    .option('--results <file>', 'also write the detections as a COCO results file (what `dynhead cocoeval --dt` reads)')
    .action(async (f: EvalFlags, cmd: Command) => {
      const limit = f.limit === undefined ? undefined : Number(f.limit);
      if (limit !== undefined && !(Number.isInteger(limit) && limit > 0)) throw new UserError(`--limit: expected a positive integer, got '${f.limit}'`);
      const backend = await activateBackend(cmd);
      note(cmd, `backend: ${backend.name} (${backend.detail})`);
      const ev = await runEval({ checkpoint: f.checkpoint, ann: f.ann, images: f.images, limit, results: f.results });
      report(cmd, { stats: ev.stats, flops: ev.flops, perCategoryAP: ev.perCategoryAP, msPerImage: ev.msPerImage }, () => formatEvaluation(ev));
    });
}
