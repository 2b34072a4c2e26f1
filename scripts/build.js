#!/usr/bin/env node
'use strict';
// Two outputs: the library (tsc, one .js + .d.ts per module, for `require('worktree-ports')`) and the
// CLI as one esbuild bundle, because resolving and loading dozens of files costs more start-up
// time than the command itself. Commands are imported lazily, so a run evaluates only its own.
//
// Everything is built into a staging folder and then swapped in for dist/, so a build never
// leaves a half-empty dist/ behind for a test or a hook that runs the CLI at the same moment.
const { execFileSync } = require('node:child_process');
const crypto = require('node:crypto');
const os = require('node:os');
const path = require('node:path');
const fs = require('node:fs');

const root = path.resolve(__dirname, '..');
const dist = path.join(root, 'dist');
const staging = path.join(root, `.dist-build-${process.pid}`);

// Libraries only some commands need are bundled apart (dist/vendor/*.cjs) and required on first
// use, so a run deserializes and compiles only the core: yaml for Compose files, cosmiconfig for
// config files that are not plain JSON, simple-git for `ports remove`. They are loaded by Node's
// own require, so cosmiconfig's native import() of JS config files keeps working (functions
// that come from bin/ports.js's code cache could not do that on Node 20).
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
    plugins: [vendorApart],
  });
  for (const name of VENDOR) {
    await esbuild.build({
      ...common,
      stdin: { contents: `module.exports = require(${JSON.stringify(name)});`, resolveDir: root },
      outfile: path.join(staging, 'vendor', `${name}.cjs`),
      // cosmiconfig loads TypeScript only for .ts config files, which we do not search for.
      external: ['typescript'],
    });
  }
  const dynamicImports = fs.readFileSync(path.join(staging, 'ports.cjs'), 'utf8').match(/\bimport\(/g) ?? [];
  if (dynamicImports.length !== 0) {
    throw new Error(`dist/ports.cjs has ${dynamicImports.length} native import() calls; code from the code cache cannot run them on Node 20: move that dependency to VENDOR`);
  }
  // bin/ports.js uses a code cache only when it names this exact bundle (see there).
  const bundle = path.join(staging, 'ports.cjs');
  const id = crypto.createHash('sha256').update(fs.readFileSync(bundle)).digest('hex').slice(0, 16);
  fs.appendFileSync(bundle, `\n//# ports-build-id=${id}\n`);
}

// What the code cache is trained on: the commands a user and the hook run most, so their
// functions are compiled ahead; anything else is compiled on demand as without a cache.
const TRAINING = [['allocate', '--quiet'], ['status', '--json'], ['status', '--all'], ['next', 'web'], ['sync', '--dry-run'], ['allocate', 'api', '--worktree', 'named', '--json']];

/** Runs the training commands in a throwaway repository in this process, then writes dist/ports.cjs.cache. */
async function writeCodeCache() {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'ports-build-'));
  const repo = path.join(base, 'repo');
  fs.mkdirSync(repo);
  try {
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('GIT_') && !k.startsWith('PORTS')));
    env.PORTS_STATE_DIR = path.join(base, 'state'); // the training run's machine index stays in the temp folder
    const git = (...args) => execFileSync('git', ['-c', 'user.name=build', '-c', 'user.email=build@example.invalid', ...args], { cwd: repo, env, stdio: 'ignore' });
    git('init', '-q');
    fs.writeFileSync(path.join(repo, '.portsrc.json'), JSON.stringify({ services: { web: true, api: { description: 'api' } } }));
    git('add', '.');
    git('commit', '-q', '-m', 'training');
    const { loadBundle, saveCodeCache } = require('../bin/ports.js');
    const loaded = loadBundle();
    const sink = { write: () => true, isTTY: false };
    for (const argv of TRAINING) await loaded.exports.run(argv, { stdout: sink, stderr: sink, env, cwd: repo });
    // What the post-checkout hook does in a new worktree (no hook is installed here, so git runs none).
    const worktree = path.join(base, 'worktree');
    git('worktree', 'add', '-q', '--detach', worktree, 'HEAD');
    const head = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: repo, env, encoding: 'utf8' }).trim();
    await loaded.exports.run(['hook', 'post-checkout', '0'.repeat(40), head, '1'], { stdout: sink, stderr: sink, env, cwd: worktree });
    saveCodeCache(loaded);
  } finally {
    fs.rmSync(base, { recursive: true, force: true });
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
    return;
  }
  try {
    await writeCodeCache();
  } catch (error) {
    // Not fatal: the first run of the CLI writes the cache instead.
    process.stderr.write(`build: no code cache (${error.message.split('\n')[0]})\n`);
  }
}

main();
