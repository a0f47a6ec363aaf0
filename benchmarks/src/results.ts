import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Machine } from './machine';

/** benchmarks/results (from src/ in tests and from dist/ when built alike). */
export const RESULTS_DIR = fileURLToPath(new URL('../results/', import.meta.url));
export const README_PATH = fileURLToPath(new URL('../README.md', import.meta.url));

export interface ResultsFile {
  backend: string;
  date: string;
  /**
   * The machine of the file's first run, and of every run that names none of its own: a run on
   * another machine (or another form of the backend, e.g. a GPU and SwiftShader the same day) keeps
   * its own `machine` beside its result.
   */
  machine: Machine;
  /** One entry per bench name (head, train-step, sparse-conv): the day's latest run of it. */
  runs: Record<string, unknown>;
  /**
   * The runs a later run of the same bench that day replaced in `runs`, oldest first: a README
   * table or note may quote any run of the day, so none is dropped.
   */
  earlier?: Record<string, unknown[]>;
}

export const today = () => new Date().toISOString().slice(0, 10);

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function sameMachine(a: Machine, b: Machine): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * Adds a bench's result to `<dir>/<backend>-<date>.json` (one file per backend and day, the latest
 * run of each bench in `runs`, the runs it replaced in `earlier`) and returns the path. Written
 * through a temporary file so that an interrupted run leaves the previous file intact.
 */
export function recordResult(bench: string, machine: Machine, result: unknown, dir = RESULTS_DIR, date = today()): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${machine.backend}-${date}.json`);
  let file: ResultsFile = { backend: machine.backend, date, machine, runs: {} };
  if (existsSync(path)) {
    try {
      const old = JSON.parse(readFileSync(path, 'utf8')) as ResultsFile;
      file = { ...old, runs: { ...old.runs } };
    } catch (e) {
      throw new Error(`${path}: not a results file (${(e as Error).message}); move it away to record new results`);
    }
  }
  if (bench in file.runs) file.earlier = { ...file.earlier, [bench]: [...(file.earlier?.[bench] ?? []), file.runs[bench]] };
  file.runs[bench] = sameMachine(file.machine, machine) || !isRecord(result) ? result : { ...result, machine };
  writeFileSync(`${path}.tmp`, `${JSON.stringify(file, null, 2)}\n`);
  renameSync(`${path}.tmp`, path);
  return path;
}

/**
 * Replaces the text between `<!-- results:KEY -->` and `<!-- /results:KEY -->` in a README (appends
 * the marked section when absent), so the README always shows the latest table of each bench.
 */
export function updateReadmeSection(path: string, key: string, markdown: string): void {
  const open = `<!-- results:${key} -->`;
  const close = `<!-- /results:${key} -->`;
  const text = existsSync(path) ? readFileSync(path, 'utf8') : '';
  const block = `${open}\n${markdown.trim()}\n${close}`;
  const start = text.indexOf(open);
  const end = text.indexOf(close);
  const next = start >= 0 && end > start ? text.slice(0, start) + block + text.slice(end + close.length) : `${text.trimEnd()}\n\n${block}\n`;
  writeFileSync(path, next);
}
