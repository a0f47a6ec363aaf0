// `dynhead validate --ann ANN.json --images DIR`: every problem on its own line; exit 2 on errors.

import { formatProblem } from '../types';
import { validateCoco } from '../validate/validate-coco';
import { type CommandIO, EXIT_BAD_INPUT, consoleIO } from './io';

export interface ValidateCommandOptions {
  ann: string;
  images: string;
  /** 'header' skips full decoding (faster, misses truncated files). */
  decode?: 'full' | 'header';
}

export async function runValidate(opts: ValidateCommandOptions, io: CommandIO = consoleIO): Promise<number> {
  const report = await validateCoco(opts.ann, opts.images, {
    decode: opts.decode ?? 'full',
  });
  for (const p of report.errors) io.err(`error: ${formatProblem(p)}`);
  for (const p of report.warnings) io.err(`warning: ${formatProblem(p)}`);
  const json = report.json as { images?: unknown[]; annotations?: unknown[] } | undefined;
  const counts =
    Array.isArray(json?.images) && Array.isArray(json?.annotations) ? ` (${json.images.length} images, ${json.annotations.length} annotations)` : '';
  const summary = `${opts.ann}: ${report.errors.length} error${report.errors.length === 1 ? '' : 's'}, ${report.warnings.length} warning${report.warnings.length === 1 ? '' : 's'}${counts}`;
  if (report.errors.length) {
    io.err(summary);
    return EXIT_BAD_INPUT;
  }
  io.out(summary);
  return 0;
}
