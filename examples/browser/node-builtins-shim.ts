// The page is built from the packages' sources (vite.config.ts), whose entry points also export
// Node-only helpers (checkpoint files, COCO readers, sharp decoding). Those helpers are never called
// in the browser, but their imports of Node built-ins (and of sharp) must resolve at build time.
// (A user's app needs no such plugin: the published packages carry browser builds that stub these
// modules themselves; test/consumer bundles them with a plain Vite.) This plugin serves each such
// module as an object whose every member throws when called; rollup's syntheticNamedExports turns
// any named import into a member of it.
import type { Plugin } from 'vite';

const NODE_ONLY = /^(node:[a-z_/]+|fs|fs\/promises|path|os|url|util|events|readline|child_process|crypto|stream|zlib|module|worker_threads|sharp)$/;
const PREFIX = '\0node-only:';

export function nodeBuiltinsShim(): Plugin {
  return {
    name: 'dynhead-node-only-shim',
    enforce: 'pre',
    resolveId(source) {
      return NODE_ONLY.test(source) ? PREFIX + source : null;
    },
    load(id) {
      if (!id.startsWith(PREFIX)) return null;
      const mod = JSON.stringify(id.slice(PREFIX.length));
      const code = `
const unavailable = (name) => function () { throw new Error(${mod} + ' ' + String(name) + ' is not available in the browser'); };
export default new Proxy({}, { get: (_, name) => (name === '__esModule' ? false : unavailable(name)) });`;
      return { code, syntheticNamedExports: true };
    },
  };
}
