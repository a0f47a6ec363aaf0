import { readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import type { Options } from 'tsup';

/** One build for every library package: ESM + CJS + .d.ts, dependencies and peers left external. */
export function libraryConfig(overrides: Options = {}): Options {
  return {
    entry: ['src/index.ts'],
    format: ['esm', 'cjs'],
    dts: true,
    sourcemap: true,
    clean: true,
    target: 'es2022',
    platform: 'neutral',
    splitting: false,
    treeshake: true,
    ...overrides,
  };
}

/** Where a package's browser build goes, inside dist/ (its `exports` map's `browser` condition). */
const BROWSER_DIR = 'browser';

/**
 * The Node-only modules a package imports, each with the names it imports from it. Node's built-ins
 * may say 'builtin' (every name the module has), npm packages name theirs ('default' for a default
 * import): a bundle fails to build on an import the stub lacks, so a new import is caught at once.
 */
export type NodeOnlyModules = Record<string, 'builtin' | readonly string[]>;

/**
 * A library package with Node-only parts (files, workers, sharp, a progress bar): its usual build,
 * and beside it in dist/browser/ an ESM build for browser bundlers, in which each Node-only module
 * is a stub whose members throw, naming the package and the module, when called. So a browser app
 * bundles the package as it is (Vite, webpack and esbuild take the `browser` condition), with the
 * same API and types, and only the Node-only functions fail, when called, with a clear error.
 */
export function libraryConfigWithBrowser(nodeOnly: NodeOnlyModules, overrides: Options = {}): Options[] {
  const main = libraryConfig({ ...overrides, clean: [`!${BROWSER_DIR}/**`] });
  const names = Object.keys(nodeOnly);
  const browser: Options = {
    ...libraryConfig(overrides),
    format: ['esm'],
    dts: false,
    platform: 'browser',
    outDir: `dist/${BROWSER_DIR}`,
    // kept as written, so that the stubs below see `node:fs` and `fs` alike
    removeNodeProtocol: false,
    // the Node-only npm packages are dependencies (left external otherwise): stubbed instead
    noExternal: [...((overrides.noExternal as (string | RegExp)[] | undefined) ?? []), ...names.map((n) => new RegExp(`^(node:)?${escapeRegExp(n)}$`))],
    esbuildPlugins: [nodeOnlyStubs(nodeOnly)],
  };
  return [main, browser];
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

type EsbuildPlugin = NonNullable<Options['esbuildPlugins']>[number];

/** The esbuild plugin that serves each Node-only module of a browser build as its stub. */
function nodeOnlyStubs(nodeOnly: NodeOnlyModules): EsbuildPlugin {
  // tsup runs in the package's folder
  const pkg = (JSON.parse(readFileSync(join(process.cwd(), 'package.json'), 'utf8')) as { name: string }).name;
  const filter = new RegExp(`^(node:)?(${Object.keys(nodeOnly).map(escapeRegExp).join('|')})$`);
  return {
    name: 'dynhead-node-only-stubs',
    setup(build) {
      build.onResolve({ filter }, (args) => ({ path: args.path.replace(/^node:/, ''), namespace: 'node-only' }));
      build.onLoad({ filter: /.*/, namespace: 'node-only' }, async (args) => ({ contents: await stubSource(pkg, args.path, nodeOnly[args.path]), loader: 'js' }));
    },
  };
}

async function stubSource(pkg: string, module: string, names: 'builtin' | readonly string[]): Promise<string> {
  if (names === 'builtin' && !builtinModules.includes(module)) throw new Error(`tsup.base: '${module}' is not a Node built-in; name the members the package imports from it`);
  const members = names === 'builtin' ? Object.keys(await import(`node:${module}`)).filter((n) => n !== 'default' && /^[A-Za-z_$][\w$]*$/.test(n)) : names.filter((n) => n !== 'default');
  // a call, a `new`, or a member of the default export: each throws with the module's name
  return `const unavailable = (name) => function () {
  throw new Error(${JSON.stringify(`${pkg}: '${module}'`)} + (name ? '.' + String(name) : '') + ' is not available in a browser: this function needs Node');
};
export default new Proxy(unavailable(''), { get: (_, name) => (name === '__esModule' ? false : unavailable(name)) });
${members.map((n) => `export const ${n} = unavailable(${JSON.stringify(n)});`).join('\n')}
`;
}
