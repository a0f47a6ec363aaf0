import type { Command } from 'commander';
import { runExport } from '@dynhead/detectors';
import { report } from '../context';

interface ExportFlags {
  checkpoint: string;
  out: string;
  half: boolean;
}

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(2)} MiB`;

export function register(program: Command): void {
  program
    .command('export')
    .description("a checkpoint's model without its optimizer state (what to ship to a browser), read by infer, eval and the browser demo like a checkpoint")
    .requiredOption('--checkpoint <dir>', 'a training output folder')
    .requiredOption('--out <dir>', 'the folder to write (checkpoint.json + model.safetensors)')
    .option('--half', 'store the weights as float16 (half the bytes, each rounded to the nearest half)', false)
    .action(async (f: ExportFlags, cmd: Command) => {
      // no backend: the weights are copied as stored, without tfjs
      const r = runExport({ checkpoint: f.checkpoint, out: f.out, half: f.half });
      report(cmd, r, () => `wrote ${r.weights}: ${mib(r.bytes)} (${r.floats === 'F16' ? 'float16' : 'float32'}), the checkpoint's ${mib(r.checkpointBytes)}`);
    });
}
