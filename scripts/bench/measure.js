'use strict';
// Timing: wall clock around whole process runs, variants interleaved (ABBA order) so a noisy
// neighbour slows them alike, medians and min–max over the repetitions.
const { spawn, spawnSync } = require('node:child_process');

/** A run that did not do what it should: the one thing that fails the benchmark. */
class BrokenRun extends Error {}

function describeRun(label, result) {
  const out = (result.stdout || '').trim().slice(0, 400);
  const err = (result.stderr || '').trim().slice(0, 800);
  return `${label}: exit ${result.status}${result.signal ? ` (signal ${result.signal})` : ''}${out ? `\n  stdout: ${out}` : ''}${err ? `\n  stderr: ${err}` : ''}`;
}

/** Runs a process to completion; returns its wall time in ms with its output. */
function timeSpawn(command, args, options) {
  const start = process.hrtime.bigint();
  const result = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, ...options });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (result.error) throw new BrokenRun(`${command} ${args.join(' ')}: ${result.error.message}`);
  return { ms, status: result.status, signal: result.signal, stdout: result.stdout, stderr: result.stderr };
}

function spawnAsync(command, args, options) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
    child.once('error', reject);
    child.once('close', (status, signal) => resolve({ status, signal, stdout, stderr }));
  });
}

/** Starts `count` processes at once; the wall time until the last one exits. */
async function timeParallel(count, makeCommand, options) {
  const start = process.hrtime.bigint();
  const results = await Promise.all(Array.from({ length: count }, (_, i) => spawnAsync(...makeCommand(i), options)));
  return { ms: Number(process.hrtime.bigint() - start) / 1e6, results };
}

function stats(samples) {
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { median, min: sorted[0], max: sorted[sorted.length - 1], n: sorted.length, samples };
}

/**
 * Runs every variant `reps` times, interleaved: A B, B A, A B… after `warmup` untimed rounds.
 * A variant is { name, run: async () => ms, before?: () => void } (before is not timed).
 */
async function interleave(variants, { reps, warmup = 1 }) {
  const samples = Object.fromEntries(variants.map((v) => [v.name, []]));
  for (let round = 0; round < warmup + reps; round++) {
    const order = round % 2 === 0 ? variants : [...variants].reverse();
    for (const variant of order) {
      if (variant.before) await variant.before();
      const ms = await variant.run();
      if (round >= warmup) samples[variant.name].push(ms);
    }
  }
  return Object.fromEntries(Object.entries(samples).map(([name, s]) => [name, stats(s)]));
}

module.exports = { BrokenRun, describeRun, timeSpawn, timeParallel, spawnAsync, stats, interleave };
