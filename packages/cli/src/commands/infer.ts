import type { Command } from 'commander';
import { runInfer } from '@dynhead/detectors';
import { activateBackend, note, report, UserError } from '../context';

interface InferFlags {
  checkpoint: string;
  image: string;
  out: string;
  threshold: string;
}

export function register(program: Command): void {
  program
    .command('infer')
    .description('detect objects in one image; PNG with boxes and one gate-heatmap panel per level (paper Fig. 4)')
    .requiredOption('--checkpoint <dir>', 'a training output folder')
    .requiredOption('--image <file>', 'input image (JPEG or PNG)')
    .requiredOption('--out <file>', 'output PNG')
    .option('--threshold <x>', 'draw boxes scoring at least x', '0.5')
    .action(async (f: InferFlags, cmd: Command) => {
      const threshold = Number(f.threshold);
      if (!(threshold >= 0 && threshold <= 1)) throw new UserError(`--threshold: expected a number in [0, 1], got '${f.threshold}'`);
      const backend = await activateBackend(cmd);
      note(cmd, `backend: ${backend.name} (${backend.detail})`);
      const r = await runInfer({ checkpoint: f.checkpoint, image: f.image, out: f.out, scoreThreshold: threshold });
      const n = r.detections.scores.length;
      const { scores, labels, boxes } = r.detections;
      const nameOf = (label: number) => r.classNames?.[label] ?? String(label);
      // what the picture shows: the boxes at or above the threshold, best first
      const objects = Array.from(scores, (score, k) => ({ label: labels[k], name: nameOf(labels[k]), score, box: Array.from(boxes.subarray(4 * k, 4 * k + 4)) })).filter((o) => o.score >= threshold);
      const counts = new Map<string, number>();
      for (const o of objects) counts.set(o.name, (counts.get(o.name) ?? 0) + 1);
      const shown = [...counts].map(([name, k]) => `${k} ${name}`).join(', ') || 'none';
      const data = { out: f.out, detections: n, objects, gflops: r.gflops, fullGflops: r.fullGflops, gateSparsity: r.gateSparsity };
      report(
        cmd,
        data,
        () =>
          `${n} detections, scoring >= ${threshold}: ${shown}; head ${r.gflops.toFixed(4)} of ${r.fullGflops.toFixed(4)} GFLOPs; zero gates per level ${r.gateSparsity.map((s) => s.toFixed(2)).join(' ')}; wrote ${f.out}`,
      );
    });
}
