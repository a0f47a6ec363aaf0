import type { Command } from 'commander';
import { type InferResult, runInfer, runInferAll } from '@dynhead/detectors';
import { activateBackend, note, report, UserError } from '../context';

interface InferFlags {
  checkpoint: string;
  image: string[];
  out: string;
  threshold: string;
}

/** What the picture of one image shows: its boxes at or above the threshold, best first, named. */
function summary(r: InferResult, threshold: number) {
  const { scores, labels, boxes } = r.detections;
  const nameOf = (label: number) => r.classNames?.[label] ?? String(label);
  const objects = Array.from(scores, (score, k) => ({ label: labels[k], name: nameOf(labels[k]), score, box: Array.from(boxes.subarray(4 * k, 4 * k + 4)) })).filter((o) => o.score >= threshold);
  const counts = new Map<string, number>();
  for (const o of objects) counts.set(o.name, (counts.get(o.name) ?? 0) + 1);
  const shown = [...counts].map(([name, k]) => `${k} ${name}`).join(', ') || 'none';
  const n = scores.length;
  const data = { image: r.image, out: r.out, detections: n, objects, gflops: r.gflops, fullGflops: r.fullGflops, gateSparsity: r.gateSparsity };
  const line = `${r.image}: ${n} detections, scoring >= ${threshold}: ${shown}; head ${r.gflops.toFixed(4)} of ${r.fullGflops.toFixed(4)} GFLOPs; zero gates per level ${r.gateSparsity.map((v) => v.toFixed(2)).join(' ')}; wrote ${r.out}`;
  return { data, line };
}

export function register(program: Command): void {
  program
    .command('infer')
    .description('detect objects in images; a PNG each with boxes and one gate-heatmap panel per level (paper Fig. 4)')
    .requiredOption('--checkpoint <dir>', 'a training output folder')
    .requiredOption('--image <files...>', 'input images (JPEG or PNG)')
    .requiredOption('--out <path>', 'output PNG for one image; for several, a folder that gets <name>.png for each')
    .option('--threshold <x>', 'draw (and list) boxes scoring at least x', '0.5')
    .action(async (f: InferFlags, cmd: Command) => {
      const threshold = Number(f.threshold);
      if (!(threshold >= 0 && threshold <= 1)) throw new UserError(`--threshold: expected a number in [0, 1], got '${f.threshold}'`);
      const backend = await activateBackend(cmd);
      note(cmd, `backend: ${backend.name} (${backend.detail})`);
      const options = { checkpoint: f.checkpoint, scoreThreshold: threshold };
      if (f.image.length === 1) {
        const { data, line } = summary(await runInfer({ ...options, image: f.image[0], out: f.out }), threshold);
        report(cmd, data, () => line);
        return;
      }
      const all = (await runInferAll({ ...options, images: f.image, outDir: f.out })).map((r) => summary(r, threshold));
      report(cmd, { images: all.map((a) => a.data) }, () => all.map((a) => a.line).join('\n'));
    });
}
