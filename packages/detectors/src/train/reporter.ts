import { appendFileSync } from 'node:fs';
import cliProgress from 'cli-progress';

/** What one training iteration reports (also the jsonl schema). */
export interface IterationRecord {
  iter: number;
  loss: number;
  losses: Record<string, number>;
  lr: number;
  /** Mean over images of soft / full head cost (1 for static heads). */
  budgetRatio: number;
  /** Mean over images of the head's used multiply-adds / 2^30. */
  gflops: number;
  numTensors: number;
  msPerIter: number;
}

export type LogFormat = 'bar' | 'plain' | 'jsonl' | 'none';

/**
 * Where progress text goes: process.stdout by default, or anything that takes `write(text)` (a
 * test's collector, a browser console shim); the bar needs a TTY (`isTTY`). Structural, so that
 * the package's types need no Node typings.
 */
export interface TextSink {
  write(text: string): unknown;
  isTTY?: boolean;
}

/**
 * Shows training progress: a cli-progress bar with ETA and the loss terms on a TTY, plain lines
 * every `every` iterations otherwise, or one JSON line per iteration. Every record is also appended
 * to `jsonlPath` when given, whatever the format.
 */
export class ProgressReporter {
  private bar: cliProgress.SingleBar | null = null;
  private readonly start = Date.now();

  constructor(
    private readonly total: number,
    private readonly startIter: number,
    private readonly format: LogFormat,
    private readonly jsonlPath?: string,
    private readonly every = 20,
    private readonly out: TextSink = process.stdout,
  ) {
    const tty = out.isTTY === true;
    if (format === 'bar' && tty) {
      this.bar = new cliProgress.SingleBar(
        { format: '{bar} {value}/{total} | ETA {eta_formatted} | loss {loss} ({terms}) | lr {lr} | budget {budget} | {gflops} GFLOPs', stream: out as unknown as NodeJS.WriteStream, hideCursor: true },
        cliProgress.Presets.shades_classic,
      );
      this.bar.start(total, startIter, { loss: '-', terms: '', lr: '-', budget: '-', gflops: '-' });
    }
  }

  record(r: IterationRecord): void {
    if (this.jsonlPath) appendFileSync(this.jsonlPath, `${JSON.stringify(r)}\n`);
    const terms = Object.entries(r.losses)
      .map(([k, v]) => `${k} ${v.toFixed(3)}`)
      .join(', ');
    if (this.bar) {
      this.bar.update(r.iter + 1, { loss: r.loss.toFixed(4), terms, lr: r.lr.toExponential(2), budget: r.budgetRatio.toFixed(3), gflops: r.gflops.toFixed(4) });
    } else if (this.format === 'jsonl') {
      this.out.write(`${JSON.stringify(r)}\n`);
    } else if (this.format !== 'none' && ((r.iter + 1) % this.every === 0 || r.iter === this.startIter || r.iter + 1 === this.total)) {
      const done = r.iter + 1 - this.startIter;
      const eta = done > 0 ? ((Date.now() - this.start) / done) * (this.total - r.iter - 1) : 0;
      this.out.write(
        `iter ${r.iter + 1}/${this.total}  loss ${r.loss.toFixed(4)} (${terms})  lr ${r.lr.toExponential(2)}  budget ${r.budgetRatio.toFixed(3)}  ${r.gflops.toFixed(4)} GFLOPs  ${r.msPerIter.toFixed(0)} ms/it  ETA ${formatSeconds(eta / 1000)}\n`,
      );
    }
  }

  message(text: string): void {
    if (this.format === 'jsonl' || this.format === 'none') return;
    if (this.bar) this.out.write('\n');
    this.out.write(`${text}\n`);
  }

  stop(): void {
    this.bar?.stop();
    this.bar = null;
  }
}

export function formatSeconds(s: number): string {
  const m = Math.floor(s / 60);
  return m > 0 ? `${m}m${String(Math.round(s % 60)).padStart(2, '0')}s` : `${Math.round(s)}s`;
}
