import type { Command } from 'commander';
import { formatProblem, validateCoco } from '@dynhead/coco';
import { cliIO, report, UserError } from '../context';

interface ValidateFlags {
  ann: string;
  images: string;
  quick: boolean;
}

export function register(program: Command): void {
  program
    .command('validate')
    .description('check a COCO detection dataset (JSON and image files); one line per problem, exit 2 on errors')
    .requiredOption('--ann <file>', 'COCO detection JSON')
    .requiredOption('--images <dir>', 'directory the file_name entries are relative to')
    .option('--quick', 'read image headers only (skips full decoding, so truncated files go unnoticed)', false)
    .action(async (flags: ValidateFlags, cmd: Command) => {
      const io = cliIO(cmd);
      const r = await validateCoco(flags.ann, flags.images, {
        decode: flags.quick ? 'header' : 'full',
      });
      for (const p of r.errors) io.err(`error: ${formatProblem(p)}\n`);
      for (const p of r.warnings) io.err(`warning: ${formatProblem(p)}\n`);
      const plural = (n: number, w: string) => `${n} ${w}${n === 1 ? '' : 's'}`;
      const summary = `${flags.ann}: ${plural(r.errors.length, 'error')}, ${plural(r.warnings.length, 'warning')}`;
      if (r.errors.length) throw new UserError(summary, 2);
      report(
        cmd,
        {
          ann: flags.ann,
          images: flags.images,
          errors: r.errors,
          warnings: r.warnings,
        },
        summary,
      );
    });
}
