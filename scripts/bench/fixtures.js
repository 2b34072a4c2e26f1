'use strict';
// Fixtures for the benchmark: real temp repositories, registries of a given size, a frozen copy
// of the built CLI (so a rebuild by someone else mid-run cannot pull the files away), and a clean
// environment for every spawn.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
// The ranges a new registry starts with, from the built library (npm run bench builds first).
const { DEFAULT_RANGES } = require('../../dist/core/registry-schema.js');
const { builtinsOnce } = require('../builtins-once');

/** The process environment without GIT_* (git exports them inside hooks) and without PORTS_*. */
function cleanEnv(extra = {}) {
  const env = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (key.startsWith('GIT_') || key.startsWith('PORTS')) continue;
    env[key] = value;
  }
  return { ...env, NO_COLOR: '1', ...extra };
}

function git(cwd, args, env = cleanEnv()) {
  const result = spawnSync('git', ['-c', 'user.name=bench', '-c', 'user.email=bench@example.invalid', ...args], { cwd, env, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`git ${args.join(' ')} failed in ${cwd}: ${result.stderr || result.error}`);
  return result.stdout;
}

/** Copies bin/, dist/, hooks/ and package.json into `dir`: the CLI exactly as built, as it would be installed. */
function snapshotPackage(root, dir) {
  for (let attempt = 0; ; attempt++) {
    try {
      if (!fs.existsSync(path.join(root, 'dist', 'ports.cjs'))) throw Object.assign(new Error('dist/ports.cjs is missing'), { code: 'ENOENT' });
      for (const part of ['bin', 'dist', 'hooks'].filter((p) => fs.existsSync(path.join(root, p)))) {
        fs.cpSync(path.join(root, part), path.join(dir, part), { recursive: true });
      }
      break;
    } catch (error) {
      // dist/ is swapped by a build running at this moment: try again shortly.
      if (error.code !== 'ENOENT' || attempt >= 50) throw new Error(`cannot copy the built CLI (${error.message}); run \`npm run build\` first`);
      fs.rmSync(dir, { recursive: true, force: true });
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
    }
  }
  fs.copyFileSync(path.join(root, 'package.json'), path.join(dir, 'package.json'));
  return { dir, bin: path.join(dir, 'bin', 'ports.js'), dist: path.join(dir, 'dist') };
}

/**
 * The floor program (scripts/bench/floor.js) as a package of its own in `dir`: this bin/ports.js
 * and package.json, and the program bundled as dist/ports.cjs the way scripts/build.js bundles
 * the CLI, so it is loaded exactly as the CLI is. Returns its bin.
 */
async function floorPackage(root, dir) {
  fs.cpSync(path.join(root, 'bin'), path.join(dir, 'bin'), { recursive: true });
  fs.copyFileSync(path.join(root, 'package.json'), path.join(dir, 'package.json'));
  await require('esbuild').build({
    entryPoints: [path.join(__dirname, 'floor.js')],
    outfile: path.join(dir, 'dist', 'ports.cjs'),
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    minifySyntax: true,
    legalComments: 'none',
    charset: 'ascii',
    logLevel: 'warning',
    plugins: [builtinsOnce],
  });
  return path.join(dir, 'bin', 'ports.js');
}

// The private range every benchmark registry allocates from: wide, below Linux's ephemeral ports.
const BENCH_RANGE = { start: 20000, end: 31999, description: 'benchmark allocations' };
const DECLARED_SERVICES = {
  web: { description: 'dev server' },
  api: { description: 'backend' },
  database: { description: 'postgres' },
  cache: { description: 'redis' },
};

/** A git repository with one commit holding `.portsrc.json` (4 services, the bench range). */
function makeRepo(dir, config = {}) {
  fs.mkdirSync(dir, { recursive: true });
  git(dir, ['init', '-q', '-b', 'main']);
  const portsrc = { services: DECLARED_SERVICES, ranges: { bench: BENCH_RANGE }, ...config };
  fs.writeFileSync(path.join(dir, '.portsrc.json'), JSON.stringify(portsrc, null, 2) + '\n');
  fs.writeFileSync(path.join(dir, '.gitignore'), '.env\ndesign/worktrees/\n');
  fs.writeFileSync(path.join(dir, 'README.md'), '# bench fixture\n');
  git(dir, ['add', '.']);
  git(dir, ['commit', '-q', '-m', 'fixture']);
  return fs.realpathSync(dir);
}

function allocation(port, worktree, service, extra = {}) {
  return {
    port,
    worktree,
    service,
    allocated_at: '2026-11-24T12:00:00.000Z',
    allocated_by: 'bench@localhost',
    description: `${service} of ${worktree}`,
    process_id: null,
    health_status: 'unknown',
    ...extra,
  };
}

/** Registry text (docs/design.md, "The registry contract"); `ranges` default to the six default ranges plus the bench range. */
function registryText(allocations, ranges = { ...DEFAULT_RANGES, bench: BENCH_RANGE }) {
  const registry = {
    ranges,
    allocations,
    metadata: { version: '1.0.0', last_updated: '2026-11-24T12:00:00.000Z', total_allocations: allocations.length, schema_version: 1 },
  };
  return JSON.stringify(registry, null, 2) + '\n';
}

/** `count` allocations by name in the bench range, from its start. */
function namedAllocations(count, prefix = 'named') {
  return Array.from({ length: count }, (_, i) => allocation(BENCH_RANGE.start + i, `${prefix}-${i}`, 'bench'));
}

function writeFile(file, text) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
}

function tempDir(label) {
  return fs.mkdtempSync(path.join(os.tmpdir(), `ports-bench-${label}-`));
}

module.exports = {
  cleanEnv,
  git,
  snapshotPackage,
  floorPackage,
  makeRepo,
  allocation,
  registryText,
  namedAllocations,
  writeFile,
  tempDir,
  BENCH_RANGE,
  DEFAULT_RANGES,
  DECLARED_SERVICES,
};
