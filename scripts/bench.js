#!/usr/bin/env node
'use strict';
// `npm run bench`: the numbers of issue 7, measured side by side in one run (variants
// interleaved, medians and min–max), printed as a table and written as JSON for tracking.
//
//   node scripts/bench.js [--quick] [--only status,sync-500] [--out FILE] [--node PATH]
//   --node PATH              run every command (and the `node -e 0` floor) under that Node
//   BENCH_QUICK=1            few repetitions (what CI runs)
//   BENCH_HEALTH_TIMEOUT=MS  the --timeout of the health row (default 500)
//   BENCH_KEEP=1             keep the temp fixtures
//
// Exit 1 only for a broken run (a command exiting with the wrong code or printing the wrong
// thing); a goal that is missed is a ✗ in the table, never a failure: CI machines are slow.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync } = require('node:child_process');

const argv = process.argv.slice(2);
const option = (name) => {
  const i = argv.indexOf(name);
  return i === -1 ? undefined : argv[i + 1];
};
// The Node to measure: every row spawns it (rows.js reads BENCH_NODE when it loads).
process.env.BENCH_NODE = path.resolve(option('--node') ?? process.env.BENCH_NODE ?? process.execPath);
const f = require('./bench/fixtures');
const { BrokenRun } = require('./bench/measure');
const { ROWS, Missing } = require('./bench/rows');

const root = path.resolve(__dirname, '..');
const quick = argv.includes('--quick') || process.env.BENCH_QUICK === '1';
const only = option('--only')?.split(',');
const outFile = path.resolve(option('--out') ?? path.join(root, 'bench-results.json'));

function fmt(value, unit) {
  if (unit === 'µs') return `${value.toFixed(0)} µs`;
  return value >= 1000 ? `${(value / 1000).toFixed(2)} s` : `${value.toFixed(1)} ms`;
}

function evaluate(row, result) {
  if (!row.goal) return { goal: null, met: null };
  const max = row.goal.maxFromRow ? result.limit : row.goal.max;
  return { goal: max, met: result.value <= max };
}

function render(rows) {
  const lines = [];
  for (const row of rows) {
    const head = `${row.n}. ${row.title}`;
    if (row.state !== 'ok') {
      lines.push(`${head}\n   ${row.state === 'missing' ? `n/a (command missing: ${row.reason})` : `BROKEN: ${row.reason}`}`);
      continue;
    }
    const ratio = row.unit === 'ms' ? fmt(row.value, 'ms') : row.unit === 'µs' ? fmt(row.value, 'µs') : `${row.value.toFixed(2)}×`;
    const goal = row.goal === null ? '' : `  goal ≤ ${row.unit === 'ms' ? fmt(row.goal, 'ms') : `${row.goal}×`} ${row.met ? '✓' : '✗'}`;
    lines.push(`${head}\n   → ${ratio}${goal}${row.note ? `  (${row.note})` : ''}`);
    const width = Math.max(...Object.keys(row.variants).map((k) => k.length));
    for (const [name, s] of Object.entries(row.variants)) {
      const u = row.unit === 'µs' ? 'µs' : 'ms';
      lines.push(`     ${name.padEnd(width)}  median ${fmt(s.median, u).padStart(9)}   min–max ${fmt(s.min, u)} – ${fmt(s.max, u)}   n=${s.n}`);
    }
  }
  return lines.join('\n');
}

/** The summary as a Markdown table (what goes in the README). */
function renderSummary(rows) {
  const lines = ['| # | measurement | medians (min–max) | result | goal |', '|---|---|---|---|---|'];
  for (const row of rows) {
    if (row.state !== 'ok') {
      lines.push(`| ${row.n} | ${row.title} | | ${row.state === 'missing' ? 'n/a (command missing)' : 'BROKEN'} | |`);
      continue;
    }
    const u = row.unit === 'µs' ? 'µs' : 'ms';
    const cell = (name) => {
      if (Array.isArray(name)) return `(${cell(name[0])} − ${cell(name[1])})`;
      const s = row.variants[name];
      return `${fmt(s.median, u)} (${fmt(s.min, u)}–${fmt(s.max, u)})`;
    };
    const medians = row.of ? row.of.map(cell).join(' ÷ ') : Object.keys(row.variants).map(cell)[0];
    const result = row.unit === 'ratio' ? `${row.value.toFixed(2)}×` : fmt(row.value, u);
    const goal = row.goal === null ? '—' : `≤ ${row.unit === 'ms' ? fmt(row.goal, 'ms') : `${row.goal}×`} ${row.met ? '✓' : '✗'}`;
    lines.push(`| ${row.n} | ${row.title.replace(/\|/g, '\\|')} | ${medians} | ${result} | ${goal} |`);
  }
  return lines.join('\n');
}

async function main() {
  const tmp = fs.realpathSync(f.tempDir('run'));
  const pkg = f.snapshotPackage(root, path.join(tmp, 'pkg'));
  // The hook runs the `node` and finds the `worktree-ports` on PATH, as after a global install.
  const bin = path.join(tmp, 'bin');
  fs.mkdirSync(bin);
  fs.symlinkSync(process.env.BENCH_NODE, path.join(bin, 'node'));
  fs.symlinkSync(pkg.bin, path.join(bin, 'worktree-ports'));
  process.env.PATH = `${bin}${path.delimiter}${process.env.PATH}`;
  const nodeVersion = execFileSync(process.env.BENCH_NODE, ['--version'], { encoding: 'utf8' }).trim();
  // Every run's machine index (the per-user state folder) lives with the fixtures, never in the
  // real home, and each row has its own: one row's registries (10,000 allocations, say) must not
  // weigh on the next row's allocations through the index.
  const ctx = {
    pkg,
    // The floor of rows 1, 2 and 5 (scripts/bench/floor.js), loaded by the same bin/ports.js.
    floorBin: await f.floorPackage(root, path.join(tmp, 'floor')),
    tmp,
    quick,
    healthTimeoutMs: Number(process.env.BENCH_HEALTH_TIMEOUT || 500),
    reps: (full, short) => (quick ? short : full),
    cleanup: [],
  };
  process.stderr.write(`ports bench (${quick ? 'quick' : 'full'}): node ${nodeVersion} (${process.env.BENCH_NODE}), ${os.cpus().length} cores, fixtures in ${tmp}\n`);
  const results = [];
  let broken = false;
  try {
    for (const [index, row] of ROWS.entries()) {
      if (only && !only.includes(row.id)) continue;
      const entry = { n: index + 1, id: row.id, title: row.title };
      process.stderr.write(`  ${entry.n}. ${row.id}…\n`);
      process.env.XDG_STATE_HOME = path.join(tmp, 'state', row.id);
      try {
        const result = await row.run(ctx);
        const unit = result.unit ?? (row.goal?.maxFromRow ? 'ms' : 'ratio');
        Object.assign(entry, { state: 'ok', unit, value: result.value, ...evaluate(row, result), note: result.note, of: result.of, variants: result.variants });
      } catch (error) {
        if (error instanceof Missing) Object.assign(entry, { state: 'missing', reason: error.message });
        else {
          broken = true;
          Object.assign(entry, { state: 'broken', reason: error instanceof BrokenRun ? error.message : error.stack });
        }
      }
      results.push(entry);
    }
  } finally {
    for (const stop of ctx.cleanup) stop();
    if (process.env.BENCH_KEEP !== '1') fs.rmSync(tmp, { recursive: true, force: true });
  }
  process.stdout.write(`${render(results)}\n\n${renderSummary(results)}\n`);
  const report = {
    date: new Date().toISOString(),
    mode: quick ? 'quick' : 'full',
    node: nodeVersion,
    platform: `${process.platform} ${os.release()}`,
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model,
    rows: results.map(({ variants, ...rest }) => ({
      ...rest,
      variants: variants && Object.fromEntries(Object.entries(variants).map(([k, s]) => [k, { median: s.median, min: s.min, max: s.max, n: s.n, samples: s.samples }])),
    })),
  };
  fs.writeFileSync(outFile, JSON.stringify(report, null, 2) + '\n');
  process.stderr.write(`wrote ${outFile}\n`);
  process.exitCode = broken ? 1 : 0;
}

main().catch((error) => {
  process.stderr.write(`bench: ${error.stack}\n`);
  process.exitCode = 1;
});
