// The package layout rules of issue 2, checked on every packages/* folder: a broken rule names
// the package and the field.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const packages = readdirSync(join(root, 'packages')).filter((d) => existsSync(join(root, 'packages', d, 'package.json')));

interface PackageJson {
  name: string;
  exports?: Record<string, unknown>;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  bin?: Record<string, string>;
}

const BACKENDS = ['@tensorflow/tfjs-backend-cpu', '@tensorflow/tfjs-backend-wasm', '@tensorflow/tfjs-backend-webgpu', '@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs', 'webgpu'];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) return sourceFiles(p);
    return p.endsWith('.ts') && !p.endsWith('.test.ts') ? [p] : [];
  });
}

describe.each(packages)('packages/%s', (dir) => {
  const base = join(root, 'packages', dir);
  const pkg = JSON.parse(readFileSync(join(base, 'package.json'), 'utf8')) as PackageJson;

  it('is @dynhead/<folder> with src/index.ts, README.md and a tsup build to ESM + CJS + d.ts', () => {
    expect(pkg.name, `${dir}/package.json name`).toBe(`@dynhead/${dir}`);
    for (const f of ['src/index.ts', 'README.md', 'tsup.config.ts', 'tsconfig.json']) expect(existsSync(join(base, f)), `${dir}/${f}`).toBe(true);
    const dot = pkg.exports?.['.'] as { import?: { types?: string; default?: string }; require?: { types?: string; default?: string } } | undefined;
    expect(dot?.import?.types, `${dir}/package.json exports['.'].import.types`).toBe('./dist/index.d.ts');
    expect(dot?.import?.default, `${dir}/package.json exports['.'].import.default`).toBe('./dist/index.js');
    expect(dot?.require?.types, `${dir}/package.json exports['.'].require.types`).toBe('./dist/index.d.cts');
    expect(dot?.require?.default, `${dir}/package.json exports['.'].require.default`).toBe('./dist/index.cjs');
  });

  it('depends on no tfjs backend (they are peers), and takes tfjs-core 4.22 as a peer where it uses it', () => {
    for (const dep of BACKENDS) expect(pkg.dependencies?.[dep], `${dir}/package.json dependencies['${dep}']`).toBeUndefined();
    expect(pkg.dependencies?.['@tensorflow/tfjs-core'], `${dir}/package.json dependencies['@tensorflow/tfjs-core']`).toBeUndefined();
    const usesCore = sourceFiles(join(base, 'src')).some((f) => readFileSync(f, 'utf8').includes("from '@tensorflow/tfjs-core'"));
    if (usesCore) expect(pkg.peerDependencies?.['@tensorflow/tfjs-core'], `${dir}/package.json peerDependencies['@tensorflow/tfjs-core']`).toBe('^4.22.0');
  });

  it('writes bin paths as npm publishes them (npm 11 drops a "./"-prefixed bin from the published manifest)', () => {
    const prefixed = Object.entries(pkg.bin ?? {}).filter(([, target]) => target.startsWith('./'));
    expect(prefixed.map(([name, target]) => `${dir}/package.json bin.${name}: ${target}`)).toEqual([]);
  });

  it('README has an install line', () => {
    expect(readFileSync(join(base, 'README.md'), 'utf8')).toContain(`npm install @dynhead/${dir}`);
  });

  it('README has an API section that names every runtime export of src/index.ts', async () => {
    const readme = readFileSync(join(base, 'README.md'), 'utf8');
    expect(readme, `${dir}/README.md: a "## API" section`).toMatch(/^## API\b/m);
    const exported = Object.keys(await import(join(base, 'src/index.ts')));
    expect(exported.length, `${dir}/src/index.ts exports`).toBeGreaterThan(0);
    const unnamed = exported.filter((name) => !new RegExp(`(^|[^\\w$])${name.replace(/\$/g, '\\$')}([^\\w$]|$)`).test(readme));
    expect(unnamed, `${dir}/README.md does not name these exports`).toEqual([]);
  });
});

describe('@dynhead/cli', () => {
  it('has the dynhead bin, and the cpu and wasm backends as required peers', () => {
    const pkg = JSON.parse(readFileSync(join(root, 'packages/cli/package.json'), 'utf8')) as PackageJson;
    const bin = pkg.bin?.dynhead;
    expect(bin, 'packages/cli/package.json bin.dynhead').toBeDefined();
    expect(existsSync(join(root, 'packages/cli', bin ?? ''))).toBe(true);
    expect(readFileSync(join(root, 'packages/cli', bin ?? ''), 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
    for (const peer of ['@tensorflow/tfjs-backend-cpu', '@tensorflow/tfjs-backend-wasm']) {
      expect(pkg.peerDependencies?.[peer], `peerDependencies['${peer}']`).toBe('^4.22.0');
      expect(pkg.peerDependenciesMeta?.[peer]?.optional ?? false).toBe(false);
    }
  });

  it('the root "dynhead" script runs the bin', () => {
    const rootPkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(rootPkg.scripts.dynhead).toBe('node packages/cli/bin/dynhead.js');
  });
});
