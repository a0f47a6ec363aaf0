#!/usr/bin/env node
// The `dynhead` command: runs the built CLI (npm run build in packages/cli first).
import { main } from '../dist/index.js';

process.exitCode = await main(process.argv.slice(2));
