/**
 * Backbone parity against a golden file on one backend; prints the relative L2 error per output.
 *   node packages/fpn/scripts/run.mjs packages/fpn/scripts/parity.ts --backend wasm --golden ../shared/golden/resnet18-fpn-c64.safetensors
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import { useBackend } from '@dynhead/runtime';
import { parseSafetensors } from '@dynhead/safetensors';
import { backboneParity } from '@dynhead/fpn';

const { values: opts } = parseArgs({ options: { backend: { type: 'string', default: 'cpu' }, golden: { type: 'string', default: '../shared/golden/resnet18-fpn-c64.safetensors' } } });
const active = await useBackend(opts.backend);
const source = basename(opts.golden);
const t0 = performance.now();
const report = await backboneParity(parseSafetensors(new Uint8Array(readFileSync(opts.golden)), source), { source });
const ms = performance.now() - t0;
console.table(Object.fromEntries(Object.entries(report.tensors).map(([k, v]) => [k, { 'rel L2': v.toExponential(2) }])));
console.log(`${source} on ${active.name}: ${report.ok ? 'OK' : 'FAIL'}, worst ${report.worst.toExponential(2)} (tolerance ${report.groups.fpn.tolerance}), ${ms.toFixed(0)} ms`);
if (!report.ok) process.exitCode = 1;
