#!/usr/bin/env node
'use strict';
// Two outputs: the library (tsc, one .js + .d.ts per module, for `require('ports')`) and the
// CLI as one esbuild bundle, because resolving and loading dozens of files costs more start-up
// time than the command itself. Commands are imported lazily, so a run evaluates only its own.
const { execFileSync } = require('node:child_process');
const path = require('node:path');
const fs = require('node:fs');

const root = path.resolve(__dirname, '..');
fs.rmSync(path.join(root, 'dist'), { recursive: true, force: true });
execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', path.join(root, 'tsconfig.json')], {
  stdio: 'inherit',
});
require('esbuild').buildSync({
  entryPoints: [path.join(root, 'src/main.ts')],
  outfile: path.join(root, 'dist/ports.cjs'),
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  minifySyntax: true,
  legalComments: 'none',
  logLevel: 'warning',
  // cosmiconfig loads TypeScript only for .ts config files, which we do not search for.
  external: ['typescript'],
});
