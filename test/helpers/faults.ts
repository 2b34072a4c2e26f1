/**
 * Helpers for the fault-injection suite (test/faults): run the built CLI as real processes,
 * kill them, watch the registry from another process, and print one summary line per scenario.
 *
 * The CLI runs through test/helpers/cli.ts, from its private copy of the built package.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { cleanEnv, spawnPorts as spawnCli, type RunResult } from './cli';
import type { Allocation, Registry } from '../../src/core/registry-schema';

export { cleanEnv, portsBin, type RunResult } from './cli';

export interface SpawnOptions {
  cwd?: string;
  /** Variables on top of cleanEnv(). */
  env?: Record<string, string>;
}

/** Starts `node bin/ports.js ARGS…` (test/helpers/cli.ts); `result` settles when it exits (however it exits). */
export function spawnPorts(args: readonly string[], options: SpawnOptions = {}): { child: ChildProcess; result: Promise<RunResult> } {
  return spawnCli(args, { cwd: options.cwd ?? os.tmpdir(), env: cleanEnv(options.env) });
}

export function runPorts(args: readonly string[], options: SpawnOptions = {}): Promise<RunResult> {
  return spawnPorts(args, options).result;
}

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `ports-faults-${prefix}-`));
}

export function writeJson(file: string, value: unknown): void {
  fs.writeFileSync(file, JSON.stringify(value, null, 2) + '\n');
}

/**
 * A config with one private range, so no test collides with well-known ports. The fault tests
 * use 27000-27999: below 32768, Linux's ephemeral range, where the listen(0) and outgoing
 * connections of tests running in parallel land and would make a port look busy.
 */
export function privateRangeConfig(dir: string, service: string, start: number, end: number): string {
  const file = path.join(dir, 'ports-config.json');
  writeJson(file, { ranges: { [service]: { start, end, description: 'fault-injection tests' } } });
  return file;
}

/** A valid registry (docs/design.md, "The registry contract") holding `allocations`. */
export function registryWith(allocations: Partial<Allocation>[], ranges: Registry['ranges'] = {}): Registry {
  const full = allocations.map(
    (a, i): Allocation => ({
      port: 27000 + i,
      worktree: `w-${i}`,
      service: 'web',
      allocated_at: '2026-11-24T10:00:00.000Z',
      allocated_by: 'tester@host',
      description: '',
      process_id: null,
      health_status: 'unknown',
      ...a,
    }),
  );
  return {
    ranges: {
      web: { start: 8080, end: 8099, description: 'HTTP web servers and frontend development servers' },
      svc: { start: 27000, end: 27999, description: 'fault-injection tests' },
      ...ranges,
    },
    allocations: full,
    metadata: { version: '1.0.0', last_updated: '2026-11-24T10:00:00.000Z', total_allocations: full.length, schema_version: 1 },
  };
}

/** Files the tool leaves next to the registry: lock, its breakers, temp files. */
export function leftovers(registryFile: string): string[] {
  const base = path.basename(registryFile);
  return fs
    .readdirSync(path.dirname(registryFile))
    .filter((name) => name.startsWith(`${base}.`) && (name.endsWith('.tmp') || name.includes('.lock')))
    .sort();
}

export interface ReaderCounts {
  reads: number;
  parsed: number;
  failures: number;
  /** Reads whose metadata.total_allocations differed from allocations.length. */
  inconsistent: number;
  firstFailure: string | null;
}

/**
 * Another process that reads and JSON.parses the registry over and over (every ~1 ms) until
 * stopped: proof that no reader ever sees a half-written file.
 */
export function startRegistryReader(file: string): { stop(): Promise<ReaderCounts> } {
  const script = `
    const fs = require('fs');
    const file = process.argv[1];
    const cell = new Int32Array(new SharedArrayBuffer(4));
    const counts = { reads: 0, parsed: 0, failures: 0, inconsistent: 0, firstFailure: null };
    let stop = false;
    process.stdin.on('data', () => { stop = true; });
    function loop() {
      for (let i = 0; i < 20 && !stop; i++) {
        let text;
        try { text = fs.readFileSync(file, 'utf8'); } catch (e) { if (e.code !== 'ENOENT') { counts.failures++; counts.firstFailure ??= e.message; } continue; }
        counts.reads++;
        try {
          const data = JSON.parse(text);
          counts.parsed++;
          if (data.metadata.total_allocations !== data.allocations.length) counts.inconsistent++;
        } catch (e) { counts.failures++; counts.firstFailure ??= e.message + ' in ' + JSON.stringify(text.slice(0, 200)); }
        Atomics.wait(cell, 0, 0, 1);
      }
      if (stop) process.stdout.write(JSON.stringify(counts), () => process.exit(0));
      else setImmediate(loop);
    }
    loop();
  `;
  const child = spawn(process.execPath, ['-e', script, file], { env: cleanEnv(), stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  return {
    async stop() {
      child.stdin!.end('stop\n');
      await exited;
      return JSON.parse(out) as ReaderCounts;
    },
  };
}

/** Reads and parses the registry file directly (no validation: the test checks what it needs). */
export function readRegistry(file: string): Registry {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as Registry;
}

/** The one line per scenario the issue asks for; kept greppable with the `faults:` prefix. */
export function summary(line: string): void {
  console.log(`faults: ${line}`);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function duplicatesOf(values: readonly number[]): number[] {
  const seen = new Set<number>();
  const dup = new Set<number>();
  for (const v of values) (seen.has(v) ? dup : seen).add(v);
  return [...dup];
}
