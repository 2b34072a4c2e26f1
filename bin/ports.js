#!/usr/bin/env node
'use strict';
// Runs the CLI bundle (dist/ports.cjs, made by scripts/build.js) from a V8 code cache of our own.
//
// Node's compile cache (22.1+) stores the code of a file as compiled when it was loaded: the
// top level only. Every function a run calls is still parsed and compiled in that run. A cache
// made with createCachedData() once the run is over also holds those functions, so the next run
// of the same command skips them; Node 20, which has no compile cache, gains the whole parse.
// CPU, medians of 20-25 runs: the hook of a new worktree, Node 24 88.4 → 75.4 ms, Node 20
// 143.8 → 128.6 ms; `status --json`, Node 24 64.0 → 57.3 ms, Node 20 111.1 → 97.3 ms.
// One cache per command (each runs other code), made by its first successful run.
const fs = require('node:fs');
const path = require('node:path');
const bundle = path.join(__dirname, '..', 'dist', 'ports.cjs');

/**
 * Where the cache of this command for this exact bundle and Node lives, in a folder only this
 * user can write (V8 trusts a cache it accepts: it must never come from someone else). null: none.
 */
function cacheFile(stat) {
  try {
    const os = require('node:os');
    const dir = path.join(process.env.NODE_COMPILE_CACHE || os.tmpdir(), `worktree-ports-code-${process.getuid?.() ?? 'user'}`);
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const own = fs.lstatSync(dir);
    if (!own.isDirectory() || (process.getuid && own.uid !== process.getuid()) || (own.mode & 0o022) !== 0) return null;
    const command = /^[a-z][a-z-]{0,20}$/.test(process.argv[2] ?? '') ? process.argv[2] : 'other';
    // V8 checks a cache against the source's length only, so the name says which bundle it is.
    return { dir, node: `${process.version}-${process.arch}-`, name: `${process.version}-${process.arch}-${stat.size}-${stat.ino}-${Math.trunc(stat.mtimeMs)}-${command}` };
  } catch {
    return null;
  }
}

function load() {
  const vm = require('node:vm');
  const Module = require('node:module');
  const fd = fs.openSync(bundle, 'r');
  let source;
  let file = null;
  try {
    file = cacheFile(fs.fstatSync(fd));
    source = fs.readFileSync(fd, 'utf8');
  } finally {
    fs.closeSync(fd);
  }
  let cached;
  try {
    if (file) cached = fs.readFileSync(path.join(file.dir, file.name));
  } catch {
    // first run of this command with this bundle
  }
  const script = new vm.Script(Module.wrap(source), { filename: bundle, cachedData: cached });
  const mod = { exports: {} };
  script.runInThisContext().call(mod.exports, mod.exports, Module.createRequire(bundle), mod, bundle, path.dirname(bundle));
  const save = file && (!cached || script.cachedDataRejected) ? () => saveCache(script, file) : null;
  return { cli: mod.exports, save };
}

/** How many caches of other bundles (other installed versions, other builds) may stay beside this one's. */
const KEEP_OTHER_CACHES = 64;

/**
 * Saved after a run that succeeded (a mistyped command makes no cache). Caches of other bundles
 * go once they are a week old or beyond the newest KEEP_OTHER_CACHES: two installed versions (a
 * global and a project one, a build and its packed tarball) keep their own caches instead of
 * deleting each other's on every save, and a developer's hundred builds a day do not pile up.
 */
function saveCache(script, file) {
  if (process.exitCode) return;
  const target = path.join(file.dir, file.name);
  const temp = `${target}.${process.pid}.tmp`;
  try {
    fs.writeFileSync(temp, script.createCachedData(), { mode: 0o600 });
    fs.renameSync(temp, target); // whole or not at all, also when parallel runs save at once
    const bundleId = file.name.slice(0, file.name.lastIndexOf('-') + 1);
    const weekAgo = Date.now() - 7 * 24 * 3600 * 1000;
    const others = [];
    for (const name of fs.readdirSync(file.dir)) {
      if (!name.startsWith(file.node) || name.startsWith(bundleId) || name.endsWith('.tmp')) continue;
      const other = path.join(file.dir, name);
      const mtimeMs = fs.statSync(other, { throwIfNoEntry: false })?.mtimeMs ?? 0;
      others.push({ other, mtimeMs });
    }
    others.sort((a, b) => b.mtimeMs - a.mtimeMs);
    others.forEach(({ other, mtimeMs }, i) => {
      if (mtimeMs < weekAgo || i >= KEEP_OTHER_CACHES) fs.rmSync(other, { force: true });
    });
  } catch {
    fs.rmSync(temp, { force: true });
  }
}

// The vendor bundles (dist/vendor/*.cjs) are plain requires: Node's compile cache serves them.
require('node:module').enableCompileCache?.();
const { cli, save } = load();
cli.main();
// Once nothing is left to do (no pending writes either: they keep the loop alive), save the code
// cache if this run made one, and leave through process.exit, which skips tearing the heap down
// piece by piece (~1 ms per run).
process.once('beforeExit', () => {
  save?.();
  process.exit();
});
