#!/usr/bin/env node
'use strict';
// Runs the CLI bundle (dist/ports.cjs) from V8's code cache when there is a valid one:
// parsing and compiling the bundle (~650 KB) was the largest part of the tool's own start-up.
//
// The cache (dist/ports.cjs.cache) is made by the build, and remade here at exit when it is
// missing or V8 rejects it (another Node version, other V8 flags). It is written to a temp
// file and renamed, and skipped silently where dist/ is read-only (a global install owned by
// root). Each cache names the build it belongs to, so a cache next to a rebuilt bundle is
// never used; a bundle without a build id is simply required.
//
// Functions that come from a code cache cannot run a native import() on Node 20, so the bundle
// has none: cosmiconfig, which imports JS config files, lives in dist/vendor/ and is loaded by
// Node's own require (scripts/build.js checks this).
const fs = require('node:fs');
const path = require('node:path');

const bundle = path.join(__dirname, '..', 'dist', 'ports.cjs');
const cacheFile = `${bundle}.cache`;
const BUILD_ID = /\n\/\/# ports-build-id=([0-9a-f]+)\n$/;

/** The build id and V8 data of a cache file: `<build id>\n<data>`. */
function readCache(buildId) {
  let raw;
  try {
    raw = fs.readFileSync(cacheFile);
  } catch {
    return undefined;
  }
  const newline = raw.indexOf(10);
  if (newline === -1 || raw.toString('latin1', 0, newline) !== buildId) return undefined;
  return raw.subarray(newline + 1);
}

function writeCache(buildId, data) {
  const temp = `${cacheFile}.${process.pid}.tmp`;
  try {
    fs.writeFileSync(temp, Buffer.concat([Buffer.from(`${buildId}\n`, 'latin1'), data]));
    fs.renameSync(temp, cacheFile);
  } catch {
    try {
      fs.unlinkSync(temp);
    } catch {
      // nothing was written
    }
  }
}

function canWrite(dir) {
  try {
    fs.accessSync(dir, fs.constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** The bundle's exports; `script` (for the cache) only when it was compiled here. */
function loadBundle() {
  let source;
  try {
    source = fs.readFileSync(bundle, 'utf8');
  } catch {
    source = undefined;
  }
  const id = source && BUILD_ID.exec(source.slice(-100));
  if (!id) return { exports: require(bundle) };
  const buildId = id[1];
  const cachedData = readCache(buildId);
  const vm = require('node:vm');
  const Module = require('node:module');
  const script = new vm.Script(Module.wrap(source), { filename: bundle, cachedData });
  const module = { exports: {} };
  script.runInThisContext()(module.exports, Module.createRequire(bundle), module, bundle, path.dirname(bundle));
  const stale = cachedData === undefined || script.cachedDataRejected === true;
  return { exports: module.exports, script, buildId, stale };
}

/** Writes the cache now, with whatever the process has compiled so far (the build calls this after a training run). */
function saveCodeCache(loaded) {
  if (loaded.script) writeCache(loaded.buildId, loaded.script.createCachedData());
}

if (require.main === module) {
  const loaded = loadBundle();
  if (loaded.stale && canWrite(path.dirname(bundle))) {
    // At exit, so the functions this run compiled are in the cache too.
    process.once('exit', () => saveCodeCache(loaded));
  }
  loaded.exports.main();
  // Once nothing is left to do (no pending writes either: they keep the loop alive), leave
  // through process.exit, which skips tearing the heap down piece by piece (~1 ms per run).
  process.once('beforeExit', () => process.exit());
} else {
  module.exports = { loadBundle, saveCodeCache, cacheFile };
}
