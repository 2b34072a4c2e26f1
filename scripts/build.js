#!/usr/bin/env node
'use strict';
// Two outputs: the library (tsc, one .js + .d.ts per module, for `require('worktree-ports')`) and the
// CLI as one esbuild bundle, because resolving and loading dozens of files costs more start-up
// time than the command itself. Commands are imported lazily, so a run evaluates only its own.
//
// Everything is built into a staging folder and then swapped in for dist/, so a build never
// leaves a half-empty dist/ behind for a test or a hook that runs the CLI at the same moment.
const { execFileSync } = require('node:child_process');
const path = require('node:path');
const fs = require('node:fs');
const { builtinsOnce } = require('./builtins-once');

const root = path.resolve(__dirname, '..');
const dist = path.join(root, 'dist');
const staging = path.join(root, `.dist-build-${process.pid}`);

// Libraries only some commands need are bundled apart (dist/vendor/*.cjs) and required on first
// use, so a run loads and compiles only the core: yaml for Compose files, cosmiconfig for config
// files that are not plain JSON, simple-git for `ports remove`.
const VENDOR = ['cosmiconfig', 'yaml', 'simple-git'];
const vendorApart = {
  name: 'vendor-apart',
  setup(build) {
    // `import('yaml')` becomes a small bundled module whose body requires dist/vendor/yaml.cjs:
    // esbuild would leave an import() of an external path native.
    build.onResolve({ filter: new RegExp(`^(${VENDOR.join('|')})$`) }, (args) => ({ path: args.path, namespace: 'vendor-shim' }));
    build.onLoad({ filter: /.*/, namespace: 'vendor-shim' }, (args) => ({ contents: `module.exports = require('./vendor/${args.path}.cjs');`, loader: 'js' }));
    build.onResolve({ filter: /^\.\/vendor\// }, (args) => ({ path: args.path, external: true }));
  },
};

/**
 * One character outside ASCII anywhere in the bundle makes the source V8 gets a two-byte string:
 * twice the memory, and bin/ports.js's read of 440 KB took 1.3-1.5 ms instead of 0.6-0.8 (Node 24).
 * esbuild already escapes what is not ASCII in code (charset: 'ascii'); what it leaves is in
 * comments, escaped here the same way.
 */
function asciiOnly(file) {
  const text = fs.readFileSync(file, 'utf8');
  // eslint-disable-next-line no-control-regex -- everything outside ASCII, and only that
  const escaped = text.replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  if (escaped !== text) fs.writeFileSync(file, escaped);
}

async function build() {
  fs.rmSync(staging, { recursive: true, force: true });
  execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', path.join(root, 'tsconfig.json'), '--outDir', staging], {
    stdio: 'inherit',
  });
  const esbuild = require('esbuild');
  const common = { bundle: true, platform: 'node', format: 'cjs', target: 'node20', minifySyntax: true, legalComments: 'none', logLevel: 'warning' };
  await esbuild.build({
    ...common,
    entryPoints: [path.join(root, 'src/main.ts')],
    outfile: path.join(staging, 'ports.cjs'),
    plugins: [vendorApart, builtinsOnce],
  });
  asciiOnly(path.join(staging, 'ports.cjs'));
  for (const name of VENDOR) {
    await esbuild.build({
      ...common,
      stdin: { contents: `module.exports = require(${JSON.stringify(name)});`, resolveDir: root },
      outfile: path.join(staging, 'vendor', `${name}.cjs`),
      // cosmiconfig loads TypeScript only for .ts config files, which we do not search for.
      external: ['typescript'],
    });
  }
}

/** Puts `staging` in the place of dist/: two renames, retried when another build swaps at the same time. */
function swapIn() {
  const old = path.join(root, `.dist-old-${process.pid}`);
  for (let attempt = 0; ; attempt++) {
    try {
      fs.renameSync(dist, old);
    } catch (error) {
      if (error.code !== 'ENOENT') throw error;
    }
    try {
      fs.renameSync(staging, dist);
      break;
    } catch (error) {
      if ((error.code !== 'ENOTEMPTY' && error.code !== 'EEXIST') || attempt > 20) throw error;
    }
  }
  fs.rmSync(old, { recursive: true, force: true });
}

async function main() {
  try {
    await build();
    swapIn();
  } catch (error) {
    fs.rmSync(staging, { recursive: true, force: true });
    if (error.status === undefined) throw error; // tsc has printed its errors already
    process.exitCode = 1;
  }
}

main();
