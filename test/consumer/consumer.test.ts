// How users install single packages into their own projects: `npm pack` every public package, install
// the tarballs (with tfjs-core and the cpu backend, from the local npm cache) into a project outside
// the workspace, then import them through ESM and CommonJS, type-check TypeScript against their
// .d.ts (every package's with no Node typings, and each README's example), run the dynamic head
// on cpu against the official implementation's outputs, and bundle a browser app of them with Vite,
// esbuild and webpack, each bundle run in headless Chromium.
// Needs each package's dist/ (`npm test` builds first; alone: `npx turbo run build`).
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { build as esbuild } from 'esbuild';
import { type Browser, chromium } from 'playwright-core';
import { build, createLogger } from 'vite';
import webpack from 'webpack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveStatic } from '../static-server';

const run = promisify(execFile);
const repo = fileURLToPath(new URL('../../', import.meta.url));
const golden = fileURLToPath(new URL('../../../shared/golden/fcos-dynhead-d4-c64.safetensors', import.meta.url));
const fixture = fileURLToPath(new URL('./fixture/', import.meta.url));
const cocoevalCase = fileURLToPath(new URL('../../../shared/cocoeval-cases/case-100-subset.json', import.meta.url));
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const TFJS_VERSION = '4.22.0';
// the workspace's own, so that npm finds it in the local cache
const TYPES_NODE_VERSION = (JSON.parse(readFileSync(join(repo, 'node_modules', '@types', 'node', 'package.json'), 'utf8')) as { version: string }).version;

interface Manifest {
  name: string;
  version: string;
  private?: boolean;
  main?: string;
}

const publicPackages = readdirSync(join(repo, 'packages'))
  .map((dir) => ({ dir: join('packages', dir), manifest: JSON.parse(readFileSync(join(repo, 'packages', dir, 'package.json'), 'utf8')) as Manifest }))
  .filter((p) => !p.manifest.private);

// npm run sets npm_config_* (workspace, prefix, ...) that would point the nested npm at the workspace.
const cleanEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('npm_') && k !== 'INIT_CWD'));

async function sh(file: string, args: string[], cwd: string): Promise<string> {
  try {
    const { stdout } = await run(file, args, { cwd, env: cleanEnv, maxBuffer: 64 << 20 });
    return stdout;
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${file} ${args.join(' ')} (in ${cwd}) failed: ${err.message}\n${err.stdout ?? ''}\n${err.stderr ?? ''}`);
  }
}

function lastJsonLine(stdout: string): Record<string, unknown> {
  const line = stdout.trim().split('\n').filter((l) => l.startsWith('{')).pop();
  if (!line) throw new Error(`expected a JSON line on stdout, got:\n${stdout}`);
  return JSON.parse(line);
}

type ApiReport = Record<string, { exports: number; missing: string[] }>;

/** Every package's missing public names (or 'exports nothing'), so one run names them all. */
function problems(report: ApiReport): Record<string, string> {
  const out: Record<string, string> = {};
  for (const { manifest } of publicPackages) {
    const r = report[manifest.name];
    if (!r) out[manifest.name] = 'not loaded';
    else if (r.exports === 0) out[manifest.name] = 'exports nothing';
    else if (r.missing.length > 0) out[manifest.name] = `lacks ${r.missing.join(', ')}`;
  }
  return out;
}

/**
 * What each package README's example leaves to the reader (its data, the user's own code): declared
 * ahead of the example so that the rest, every name and call of the packages, is type-checked.
 */
const README_EXAMPLE_CONTEXT: Record<string, string> = {
  coco: [
    'declare function step(images: unknown, boxes: unknown, labels: unknown): void;',
    'declare const imageId: number, boxesXyxy: Float32Array, scores: Float32Array, labels: Int32Array;',
    "declare const batch: import('@dynhead/coco').DetectionBatch;",
    "declare const allDets: import('@dynhead/coco').CocoDetection[];",
  ].join('\n'),
  fpn: [
    'declare const bytes: Uint8Array, rgbUint8: tf.Tensor4D;',
    'declare function lossOf(p: tf.Tensor4D[]): tf.Scalar;',
  ].join('\n'),
  router: "declare const fpnFeatures: import('@tensorflow/tfjs-core').Tensor4D[];",
};

/** The first TypeScript block of a README: its example. */
function readmeExample(readme: string, file: string): string {
  const block = /^```ts\n([\s\S]*?)^```/m.exec(readme);
  if (!block) throw new Error(`${file}: no \`\`\`ts example block`);
  return block[1];
}

/** What useBackend says in a browser where the webgpu backend is not installed (the consumer project has cpu, and wasm for the CLI). */
const MISSING_WEBGPU = "backend 'webgpu' needs @tensorflow/tfjs-backend-webgpu, which is not installed: npm install @tensorflow/tfjs-backend-webgpu";
/** And where the bundler (webpack, `alias: { pkg: false }`) stood an empty module in for it. */
const ALIASED_WEBGPU =
  "backend 'webgpu': importing @tensorflow/tfjs-backend-webgpu registered no backend (an empty module in its place, e.g. a bundler's alias to false?): npm install @tensorflow/tfjs-backend-webgpu";

interface PageReport {
  status: string;
  error?: string;
  backend: string;
  exports: Record<string, number>;
  head: { errors: Record<string, number>; cost: Record<'used' | 'full', { got: number[]; want: number[] }> };
  coco: { stats: number[]; want: number[] };
  nodeOnly: string;
  missingBackend: string;
}

/** Serves a built browser-app with `extra` files and returns the report its page leaves in window.report. */
async function pageReport(browser: Browser, outDir: string, extra: Record<string, Uint8Array>): Promise<PageReport> {
  const server = await serveStatic(outDir, extra);
  const page = await browser.newPage();
  try {
    await page.goto(`${server.url}/index.html`);
    await page.waitForFunction(() => (window as unknown as { report?: unknown }).report !== undefined, undefined, { timeout: 120_000 });
    return (await page.evaluate(() => (window as unknown as { report: unknown }).report)) as PageReport;
  } finally {
    await page.close();
    await server.close();
  }
}

describe('consumer project outside the workspace (npm pack + install)', () => {
  let work = '';
  let project = '';

  beforeAll(async () => {
    const unbuilt = publicPackages.filter((p) => !existsSync(join(repo, p.dir, p.manifest.main ?? 'dist/index.cjs')));
    if (unbuilt.length > 0) {
      throw new Error(`build first (npx turbo run build): no dist in ${unbuilt.map((p) => p.dir).join(', ')}`);
    }
    work = mkdtempSync(join(tmpdir(), 'dynhead-consumer-'));
    const tarballs = join(work, 'tarballs');
    project = join(work, 'project');
    mkdirSync(tarballs);
    mkdirSync(project);

    const packed = JSON.parse(
      await sh('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', tarballs, ...publicPackages.flatMap((p) => ['--workspace', p.dir])], repo),
    ) as { filename: string }[];
    expect(packed).toHaveLength(publicPackages.length);

    cpSync(fixture, project, { recursive: true });
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'dynhead-consumer', private: true, type: 'module' }, null, 2));
    await sh(
      'npm',
      [
        'install',
        '--prefer-offline',
        '--no-audit',
        '--no-fund',
        '--ignore-scripts',
        '--loglevel=error',
        ...packed.map((p) => join(tarballs, p.filename)),
        `@tensorflow/tfjs-core@${TFJS_VERSION}`,
        `@tensorflow/tfjs-backend-cpu@${TFJS_VERSION}`,
        // for the README examples, which use Node (the other files are checked without it)
        `@types/node@${TYPES_NODE_VERSION}`,
      ],
      project,
    );
  }, 300_000);

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('installs each package from its tarball, not from the workspace', () => {
    for (const { manifest } of publicPackages) {
      const installed = join(project, 'node_modules', manifest.name);
      const got = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as Manifest;
      expect(got.version).toBe(manifest.version);
      // A copy from the tarball: `files` keeps sources and tests out.
      expect(existsSync(join(installed, 'src'))).toBe(false);
    }
  });

  it('imports every package through ESM with its public names', async () => {
    const report = lastJsonLine(await sh(process.execPath, ['esm.mjs'], project)) as ApiReport;
    expect(problems(report)).toEqual({});
  });

  it('requires every package through CommonJS with its public names', async () => {
    const report = lastJsonLine(await sh(process.execPath, ['cjs.cjs'], project)) as ApiReport;
    expect(problems(report)).toEqual({});
  });

  it('type-checks TypeScript (ESM and CJS resolution) against the packed .d.ts, with no Node typings', async () => {
    const tsc = join(repo, 'node_modules', 'typescript', 'bin', 'tsc');
    await sh(process.execPath, [tsc, '-p', 'tsconfig.json'], project);
  }, 120_000);

  it("type-checks each package README's example against the packed .d.ts", async () => {
    const files: string[] = [];
    for (const { dir, manifest } of publicPackages) {
      const folder = dir.split('/').pop() as string;
      const example = readmeExample(readFileSync(join(repo, dir, 'README.md'), 'utf8'), `${dir}/README.md`);
      const context = README_EXAMPLE_CONTEXT[folder] ?? '';
      // the context's declarations after the example's imports (it may use their names)
      const imports = example.split('\n').filter((l) => l.startsWith('import '));
      const body = example.split('\n').filter((l) => !l.startsWith('import '));
      const file = `readme-${folder}.ts`;
      writeFileSync(join(project, file), [`// ${manifest.name}'s README example`, ...imports, context, ...body, 'export {};', ''].join('\n'));
      files.push(file);
    }
    const config = JSON.parse(readFileSync(join(project, 'tsconfig.json'), 'utf8')) as { compilerOptions: Record<string, unknown>; files: string[] };
    // the examples read files and write to stdout: Node's typings, which the packages' own types do without
    const readmeConfig = { ...config, compilerOptions: { ...config.compilerOptions, types: ['long', 'node'] }, files };
    writeFileSync(join(project, 'tsconfig.readme.json'), JSON.stringify(readmeConfig, null, 2));
    const tsc = join(repo, 'node_modules', 'typescript', 'bin', 'tsc');
    await sh(process.execPath, [tsc, '-p', 'tsconfig.readme.json'], project);
  }, 120_000);

  it('bundles every package but the CLI for a browser with Vite, esbuild and webpack (no plugin), and each bundle runs the head and COCOeval in Chromium', async () => {
    const app = join(project, 'browser-app');
    // Vite's own warnings: a package that reaches a Node module gets it "externalized for browser compatibility"
    const warnings: string[] = [];
    const logger = createLogger('warn');
    logger.warn = (msg) => warnings.push(msg);
    logger.warnOnce = (msg) => warnings.push(msg);
    const viteOut = join(project, 'vite-dist');
    await build({
      root: app,
      base: './',
      configFile: false,
      logLevel: 'warn',
      customLogger: logger,
      build: { outDir: viteOut, emptyOutDir: true, target: 'es2022', chunkSizeWarningLimit: 1 << 20 },
    });
    expect(warnings).toEqual([]);
    // esbuild fails a bundle on any import it cannot resolve, unless the code handles that failure at run time
    const esbuildOut = join(project, 'esbuild-dist');
    mkdirSync(esbuildOut, { recursive: true });
    const bundled = await esbuild({ entryPoints: [join(app, 'main.js')], bundle: true, platform: 'browser', format: 'esm', target: 'es2022', outfile: join(esbuildOut, 'main.js'), logLevel: 'silent' });
    expect(bundled.errors).toEqual([]);
    cpSync(join(app, 'index.html'), join(esbuildOut, 'index.html'));
    // webpack fails on an import it cannot resolve, caught or not: an app that leaves a backend out says so (alias to false)
    const webpackOut = join(project, 'webpack-dist');
    const stats = await new Promise<webpack.Stats>((resolve, reject) =>
      webpack(
        {
          mode: 'production',
          target: 'web',
          context: app,
          entry: './main.js',
          output: { path: webpackOut, filename: 'main.js' },
          resolve: { alias: { '@tensorflow/tfjs-backend-webgpu': false } },
          performance: { hints: false },
        },
        (err, result) => (err || !result ? reject(err ?? new Error('webpack: no stats')) : resolve(result)),
      ),
    );
    const { errors = [], warnings: webpackWarnings = [] } = stats.toJson({ all: false, errors: true, warnings: true });
    expect(errors.map((e) => e.message)).toEqual([]);
    expect(webpackWarnings.map((w) => w.message)).toEqual([]);
    cpSync(join(app, 'index.html'), join(webpackOut, 'index.html'));

    const extra = { '/golden.safetensors': readFileSync(golden), '/cocoeval-case.json': readFileSync(cocoevalCase) };
    // WebGPU on, so that asking for the webgpu backend gets as far as importing its package
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--enable-unsafe-webgpu', '--no-sandbox'] });
    try {
      for (const [bundler, outDir, missingWebgpu] of [
        ['vite', viteOut, MISSING_WEBGPU],
        ['esbuild', esbuildOut, MISSING_WEBGPU],
        ['webpack', webpackOut, ALIASED_WEBGPU],
      ]) {
        const report = await pageReport(browser, outDir, extra);
        expect(report.error, bundler).toBeUndefined();
        expect(report.status, bundler).toBe('done');
        expect(report.backend, bundler).toBe('cpu');
        for (const [name, count] of Object.entries(report.exports)) expect(count, `${bundler}: ${name}`).toBeGreaterThan(0);
        expect(Object.keys(report.head.errors), bundler).toHaveLength(15);
        for (const [name, err] of Object.entries(report.head.errors)) expect(err, `${bundler}: ${name}`).toBeLessThan(1e-4);
        for (const k of ['used', 'full'] as const) {
          const { got, want } = report.head.cost[k];
          expect(Math.abs(got[0] - want[0]) / want[0], `${bundler}: cost.${k}`).toBeLessThan(1e-6);
        }
        // pycocotools' 12 statistics for this case
        expect(report.coco.stats, bundler).toHaveLength(12);
        for (const [i, s] of report.coco.stats.entries()) expect(Math.abs(s - report.coco.want[i]), `${bundler}: stat ${i}`).toBeLessThan(1e-9);
        // a Node-only function (hasCheckpoint: path.join, then fs.existsSync), called in the browser, names its package and module
        expect(report.nodeOnly, bundler).toBe("@dynhead/detectors: 'path'.join is not available in a browser: this function needs Node");
        expect(report.missingBackend, bundler).toBe(missingWebgpu);
      }
    } finally {
      await browser.close();
    }
  }, 300_000);

  it('runs the dynamic head on cpu and matches the official eval outputs', async () => {
    const result = lastJsonLine(await sh(process.execPath, ['run-head.mjs', golden], project)) as {
      errors: Record<string, number>;
      cost: Record<'used' | 'full', { got: number[]; want: number[] }>;
    };
    expect(Object.keys(result.errors)).toHaveLength(15);
    for (const [name, err] of Object.entries(result.errors)) expect(err, name).toBeLessThan(1e-4);
    for (const k of ['used', 'full'] as const) {
      const { got, want } = result.cost[k];
      expect(got).toHaveLength(1);
      expect(Math.abs(got[0] - want[0]) / want[0], `cost.${k}`).toBeLessThan(1e-6);
    }
  }, 120_000);
});
