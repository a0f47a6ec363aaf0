import type { Command } from 'commander';
import { checkWebGPUTuningOverrides, setWebGPUTuning, type WebGPUTuningOverrides } from '@dynhead/sparse-conv';
import { activateBackend, globalOptions, note, report, UserError } from '../context';

const BENCHES = ['head', 'train-step', 'sparse-conv', 'dispatches'] as const;

/** What the CLI uses of @dynhead/benchmarks (private: it lives in the repository, never published). */
interface BenchmarksModule {
  runBench(
    name: string,
    options: {
      backend: string;
      backendDetail: string;
      quick: boolean;
      batches?: number[];
      repeats?: number;
      channels?: number;
      image?: { height: number; width: number };
      only?: string[];
      outDir?: string;
      write: boolean;
      readme: boolean;
      packLevels?: boolean;
      mergeTowers?: boolean;
      dispatchTimes?: boolean;
      log: (line: string) => void;
    },
  ): Promise<{ markdown: string; result: unknown; resultsPath: string | null; chartPath: string | null }>;
}

async function loadBenchmarks(): Promise<BenchmarksModule> {
  const specifier = '@dynhead/benchmarks';
  try {
    return (await import(/* @vite-ignore */ specifier)) as BenchmarksModule;
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
      throw new UserError(
        'dynhead bench runs in a dynhead checkout: @dynhead/benchmarks (benchmarks/) is not published; build it there with `npx turbo run build`',
      );
    }
    throw e;
  }
}

function positiveInts(flag: string) {
  return (value: string): number[] => {
    const xs = value.split(',').map((s) => Number(s.trim()));
    if (xs.length === 0 || xs.some((x) => !Number.isInteger(x) || x < 1)) {
      throw new UserError(`${flag}: expected positive integers separated by commas, got '${value}'`);
    }
    return xs;
  };
}

function imageSize(value: string): { height: number; width: number } {
  const m = /^(\d+)x(\d+)$/.exec(value.trim());
  if (!m || Number(m[1]) < 1 || Number(m[2]) < 1) throw new UserError(`--image: expected HEIGHTxWIDTH in pixels, e.g. 400x672, got '${value}'`);
  return { height: Number(m[1]), width: Number(m[2]) };
}

/** --webgpu-tuning: a device's form of the kernels, and single knobs set over it. */
interface WebGPUTuning {
  kind?: 'gpu' | 'swiftshader';
  overrides: WebGPUTuningOverrides;
  /** as given, for the results */
  spec: string;
}

/** 'gpu', 'swiftshader', either with ':knob=value,...', or the knobs alone (over the device's own form). */
function webgpuTuning(value: string): WebGPUTuning {
  const [head, knobs = ''] = value.includes('=') && !value.includes(':') ? ['', value] : value.split(':', 2);
  if (head !== '' && head !== 'gpu' && head !== 'swiftshader') throw new UserError(`--webgpu-tuning: expected gpu or swiftshader, got '${head}'`);
  const overrides: Record<string, number | boolean> = {};
  for (const knob of knobs.split(',').filter((k) => k.trim() !== '')) {
    const m = /^\s*(\w+)\s*=\s*(\S+)\s*$/.exec(knob);
    if (!m) throw new UserError(`--webgpu-tuning: expected knob=value, got '${knob}'`);
    overrides[m[1]] = m[2] === 'true' ? true : m[2] === 'false' ? false : Number(m[2]);
  }
  try {
    // the knobs' names and values, checked now as a user error
    checkWebGPUTuningOverrides(overrides, '--webgpu-tuning');
  } catch (e) {
    throw new UserError((e as Error).message);
  }
  return { kind: head === '' ? undefined : head, overrides, spec: value };
}

function positiveInt(flag: string) {
  return (value: string): number => positiveInts(flag)(value)[0];
}

interface BenchFlags {
  quick: boolean;
  batch?: number[];
  repeats?: number;
  channels?: number;
  image?: { height: number; width: number };
  only?: string;
  out?: string;
  write: boolean;
  readme: boolean;
  webgpuTuning?: WebGPUTuning;
  levelsApart: boolean;
  towersApart: boolean;
  dispatchTimes: boolean;
}

export function register(program: Command): void {
  program
    .command('bench')
    .description('benchmarks: head (latency / GFLOPs / memory of every head), train-step (one FCOS step), sparse-conv, dispatches (webgpu: the programs one head pass dispatches, counted as it is encoded)')
    .argument('<name>', `one of ${BENCHES.join(', ')}`)
    .option('--quick', 'small sizes that a 2-core CPU finishes in minutes', false)
    .option('--batch <list>', 'batch sizes, e.g. 1,8 (train-step: the first)', positiveInts('--batch'))
    .option('--repeats <n>', 'timed runs per measurement (median reported)', positiveInt('--repeats'))
    .option('--channels <n>', 'head channels, a multiple of 32 (GroupNorm groups)', positiveInt('--channels'))
    .option('--image <HxW>', 'head, dispatches: run on the FPN levels of this image size instead of 800x1333', imageSize)
    .option('--only <names>', "only heads whose name contains one of these, e.g. 'FCOS,D8 Mid'")
    .option('--out <dir>', 'results directory (default benchmarks/results)')
    .option('--no-write', 'do not write the JSON result and chart')
    .option('--readme', 'put the table into benchmarks/README.md', false)
    .option('--webgpu-tuning <kind>', "webgpu: run the kernels as on a 'gpu' or on 'swiftshader' whatever the device (default: the device's own); knobs after a colon, e.g. gpu:channelQuads=2,gatePixels=1", webgpuTuning)
    .option('--levels-apart', 'head, webgpu: run each block level by level instead of on the packed levels (for comparison)', false)
    .option('--towers-apart', "head, webgpu: run the two towers' depth nodes one tower after the other instead of at once (for comparison)", false)
    .option('--dispatch-times', 'head, webgpu: record every dispatch of the profiled pass (program, output shape, GPU ms) in the JSON rows', false)
    .addHelpText('after', '\nResults go to benchmarks/results/<backend>-<date>.json (and head-<backend>-<date>.png).')
    .action(async (name: string, flags: BenchFlags, cmd: Command) => {
      if (!(BENCHES as readonly string[]).includes(name)) {
        throw new UserError(`unknown bench '${name}': expected one of ${BENCHES.join(', ')}`);
      }
      const backend = await activateBackend(cmd);
      if (flags.webgpuTuning && backend.name !== 'webgpu') throw new UserError(`--webgpu-tuning applies to --backend webgpu, not ${backend.name}`);
      if (flags.levelsApart && (backend.name !== 'webgpu' || name !== 'head')) throw new UserError(`--levels-apart applies to bench head on --backend webgpu, not bench ${name} on ${backend.name}`);
      if (flags.towersApart && (backend.name !== 'webgpu' || name !== 'head')) throw new UserError(`--towers-apart applies to bench head on --backend webgpu, not bench ${name} on ${backend.name}`);
      if (flags.dispatchTimes && (backend.name !== 'webgpu' || name !== 'head')) throw new UserError(`--dispatch-times applies to bench head on --backend webgpu, not bench ${name} on ${backend.name}`);
      if (name === 'dispatches' && backend.name !== 'webgpu') throw new UserError(`bench dispatches counts WebGPU programs: run it with --backend webgpu, not ${backend.name}`);
      const benchmarks = await loadBenchmarks();
      if (flags.webgpuTuning) setWebGPUTuning(flags.webgpuTuning.kind, flags.webgpuTuning.overrides);
      // the results record which form of the kernels ran, and any tfjs flags set
      const flagged = Object.entries(globalOptions(cmd).tfjsFlags ?? {}).map(([k, v]) => `${k}=${v}`);
      const detail = [
        backend.detail,
        ...(flags.webgpuTuning ? [`kernels tuned as ${flags.webgpuTuning.kind ? `on ${flags.webgpuTuning.spec}` : flags.webgpuTuning.spec}`] : []),
        ...(flags.levelsApart ? ['levels one by one'] : []),
        ...(flags.towersApart ? ['towers one by one'] : []),
        ...(flagged.length > 0 ? [`tfjs flags ${flagged.join(',')}`] : []),
      ].join(', ');
      note(cmd, `bench ${name} on ${backend.name} (${detail})${flags.quick ? ', quick sizes' : ''}`);
      const r = await benchmarks.runBench(name, {
        backend: backend.name,
        backendDetail: detail,
        quick: flags.quick,
        batches: flags.batch,
        repeats: flags.repeats,
        channels: flags.channels,
        image: flags.image,
        only: flags.only?.split(',').map((s) => s.trim()).filter(Boolean),
        outDir: flags.out,
        write: flags.write,
        readme: flags.readme,
        packLevels: !flags.levelsApart,
        mergeTowers: !flags.towersApart,
        dispatchTimes: flags.dispatchTimes,
        log: (line) => note(cmd, line),
      });
      const written = [r.resultsPath, r.chartPath].filter(Boolean).join(', ');
      report(cmd, { bench: name, backend: backend.name, resultsPath: r.resultsPath, chartPath: r.chartPath, result: r.result }, () =>
        written ? `${r.markdown}\n\nwrote ${written}` : r.markdown,
      );
      if (globalOptions(cmd).json && written) note(cmd, `wrote ${written}`);
    });
}
