import type { Command } from 'commander';
import { detectorConfigs, runFlops } from '@dynhead/detectors';
import { report, UserError } from '../context';

interface FlopsFlags {
  config?: string;
  list: boolean;
  height: string;
  width: string;
}

export function register(program: Command): void {
  program
    .command('flops')
    .description("the head's full GFLOPs for a config (multiply-adds / 2^30 as the official code counts; the dynamic head's upper bound)")
    .option('--config <name>', 'detector config name')
    .option('--list', 'list the config names', false)
    .option('--height <px>', 'original image height', '800')
    .option('--width <px>', 'original image width', '1333')
    .action(async (f: FlopsFlags, cmd: Command) => {
      if (f.list || !f.config) {
        const names = Object.keys(detectorConfigs).sort();
        if (!f.list) throw new UserError(`flops: --config is required; known: ${names.join(', ')}`);
        report(cmd, names, names.join('\n'));
        return;
      }
      const height = Number(f.height);
      const width = Number(f.width);
      if (!(height > 0 && width > 0)) throw new UserError(`--height/--width: expected positive numbers, got ${f.height}x${f.width}`);
      let r: ReturnType<typeof runFlops>;
      try {
        r = runFlops({ config: f.config, height, width });
      } catch (e) {
        throw new UserError((e as Error).message);
      }
      report(cmd, r, () => `${r.config} (${r.kind} head): input ${r.inputWidth}x${r.inputHeight}, ${r.perPixel} multiply-adds per pixel, full head ${r.fullGflops.toFixed(2)} GFLOPs`);
    });
}
