import { type Problem, formatProblem } from './types';

const SHOWN = 20;

/** Thrown when a dataset or results file is malformed; `problems` lists every one found. */
export class CocoFormatError extends Error {
  readonly problems: Problem[];

  constructor(problems: Problem[], what = 'COCO data') {
    const lines = problems.slice(0, SHOWN).map(formatProblem);
    if (problems.length > SHOWN) lines.push(`... and ${problems.length - SHOWN} more`);
    super(`invalid ${what} (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${lines.join('\n')}`);
    this.name = 'CocoFormatError';
    this.problems = problems;
  }
}

/** Thrown when an image file cannot be read or decoded; the message names the file. */
export class ImageDecodeError extends Error {
  override name = 'ImageDecodeError';
}
