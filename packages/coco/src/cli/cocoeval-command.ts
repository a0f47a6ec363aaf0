// `dynhead cocoeval --gt GT.json --dt DT.json [--json]`: pycocotools' summary, or {"stats": [...]}.

import { CocoDataset } from '../dataset';
import { CocoFormatError } from '../errors';
import { COCOEvaluator } from '../eval/evaluator';
import { parseResults } from '../results';
import { formatProblem } from '../types';
import { type CommandIO, EXIT_BAD_INPUT, consoleIO } from './io';

export interface CocoEvalCommandOptions {
  gt: string;
  dt: string;
  json?: boolean;
  /** Also print per-category AP (text mode) or include it (JSON mode). */
  perCategory?: boolean;
}

export async function runCocoEval(opts: CocoEvalCommandOptions, io: CommandIO = consoleIO): Promise<number> {
  const { readFile } = await import('node:fs/promises');
  try {
    const gtText = await readText(readFile, opts.gt);
    let gtJson: unknown;
    try {
      gtJson = JSON.parse(gtText);
    } catch (err) {
      throw new CocoFormatError(
        [
          {
            file: opts.gt,
            path: '',
            message: `not JSON: ${(err as Error).message}`,
          },
        ],
        'ground truth',
      );
    }
    const gt = new CocoDataset(gtJson, { source: opts.gt });
    const detections = parseResults(await readText(readFile, opts.dt), gt.json, opts.dt);
    const result = new COCOEvaluator().evaluate(gt, detections);
    if (opts.json) {
      const out: Record<string, unknown> = { stats: result.stats };
      if (opts.perCategory) out.perCategoryAP = result.perCategoryAP;
      io.out(JSON.stringify(out));
    } else {
      io.out(result.summary);
      if (opts.perCategory) for (const c of result.perCategoryAP) io.out(` AP ${c.name.padEnd(20)} (id ${c.categoryId}) = ${c.ap.toFixed(3)}`);
    }
    return 0;
  } catch (err) {
    if (err instanceof CocoFormatError) for (const p of err.problems) io.err(`error: ${formatProblem(p)}`);
    else io.err(`error: ${(err as Error).message}`);
    return EXIT_BAD_INPUT;
  }
}

async function readText(readFile: typeof import('node:fs/promises').readFile, path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw new CocoFormatError(
      [
        {
          file: path,
          path: '',
          message: `cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
        },
      ],
      'input',
    );
  }
}
