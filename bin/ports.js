#!/usr/bin/env node
'use strict';
// Runs the CLI bundle (dist/ports.cjs, made by scripts/build.js). Node 22.1+ keeps the compiled
// code of the bundle in its own on-disk cache (in the temp folder, or NODE_COMPILE_CACHE), so
// later runs skip parsing and compiling it; Node 20 compiles it on every run.
require('node:module').enableCompileCache?.();
require('../dist/ports.cjs').main();
// Once nothing is left to do (no pending writes either: they keep the loop alive), leave
// through process.exit, which skips tearing the heap down piece by piece (~1 ms per run).
process.once('beforeExit', () => process.exit());
