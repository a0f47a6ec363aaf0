import type { Command } from 'commander';
import { COCOEvaluator, CocoDataset, CocoFormatError, formatProblem, parseResults } from '@dynhead/coco';
import { cliIO, report, UserError } from '../context';

interface CocoEvalFlags {
  gt: string;
  dt: string;
  perCategory: boolean;
}

async function readJsonText(path: string): Promise<string> {
  const { readFile } = await import('node:fs/promises');
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    throw new UserError(`${path}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, 2);
  }
}

export function register(program: Command): void {
  program
    .command('cocoeval')
    .description('COCO bbox evaluation, identical to pycocotools COCOeval (prints its summary; --json: {"stats": [12 numbers]})')
    .requiredOption('--gt <file>', 'ground truth: COCO detection JSON')
    .requiredOption('--dt <file>', 'detections: COCO results JSON (array of {image_id, category_id, bbox, score})')
    .option('--per-category', 'also report AP@[.5:.95] per category', false)
    .action(async (flags: CocoEvalFlags, cmd: Command) => {
      const io = cliIO(cmd);
      let result: ReturnType<COCOEvaluator['evaluate']>;
      try {
        const gtText = await readJsonText(flags.gt);
        let gtJson: unknown;
        try {
          gtJson = JSON.parse(gtText);
        } catch (e) {
          throw new UserError(`${flags.gt}: not JSON: ${(e as Error).message}`, 2);
        }
        const gt = new CocoDataset(gtJson, { source: flags.gt });
        const detections = parseResults(await readJsonText(flags.dt), gt.json, flags.dt);
        result = new COCOEvaluator().evaluate(gt, detections);
      } catch (e) {
        if (!(e instanceof CocoFormatError)) throw e;
        // One line per problem, then the one-line verdict (exit 2).
        for (const p of e.problems) io.err(`error: ${formatProblem(p)}\n`);
        throw new UserError(`cocoeval: ${e.problems.length} problem${e.problems.length === 1 ? '' : 's'} in the inputs, nothing evaluated`, 2);
      }
      const data: Record<string, unknown> = { stats: result.stats };
      if (flags.perCategory) data.perCategoryAP = result.perCategoryAP;
      report(cmd, data, () => {
        const lines = [result.summary];
        if (flags.perCategory) for (const c of result.perCategoryAP) lines.push(` AP @[ IoU=0.50:0.95 ] ${c.name} (id ${c.categoryId}) = ${c.ap.toFixed(3)}`);
        return lines.join('\n');
      });
    });
}
