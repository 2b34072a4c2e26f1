/**
 * 50 processes allocating at once, then releasing at once, 10 rounds, while another process
 * reads the registry over and over. Every acknowledged port is distinct, is in the registry
 * after the round, and no read ever sees a file that does not parse.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { duplicatesOf, type ReaderCounts, privateRangeConfig, readRegistry, runPorts, startRegistryReader, summary, tempDir } from '../helpers/faults';

const PROCS = 50;
const ROUNDS = 10;

let dir: string;
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

test('50 processes allocating and releasing at once hand out no port twice and lose no acknowledged allocation', async () => {
  dir = tempDir('concurrent');
  const registry = path.join(dir, 'ports.json');
  const config = privateRangeConfig(dir, 'svc', 27000, 27999);
  const common = ['--registry', registry, '--config', config];
  // Safety is under test here, not speed: on a machine loaded by other test runs a waiter may
  // can need more than the default 30 s, and a timeout (exit 5) would only blur the counts.
  const env = { PORTS_LOCK_TIMEOUT_MS: '120000' };
  const init = await runPorts(['init', ...common], { cwd: dir });
  expect(init.stderr).not.toMatch(/error/i);
  expect(init.code).toBe(0);

  const reader = startRegistryReader(registry);
  const started = Date.now();
  let acknowledged = 0;
  let duplicates = 0;
  let lost = 0;
  let failed = 0;
  let releasedAcknowledged = 0;
  let leftAfterRelease = 0;
  let registryDuplicates = 0;
  let metadataOff = 0;
  let slowestMs = 0;
  const failures: string[] = [];
  let reads: ReaderCounts | undefined;
  try {
    for (let round = 1; round <= ROUNDS; round++) {
      const names = Array.from({ length: PROCS }, (_, i) => `w-${round}-${i}`);
      const allocs = await Promise.all(names.map((name) => runPorts(['allocate', 'svc', '--worktree', name, '--quiet', ...common], { cwd: dir, env })));
      slowestMs = Math.max(slowestMs, ...allocs.map((r) => r.ms));
      const owners = new Map<number, string>();
      const ports: number[] = [];
      allocs.forEach((r, i) => {
        if (r.code !== 0) {
          failed++;
          failures.push(`round ${round} allocate ${names[i]}: exit ${r.code}: ${r.stderr.trim()}`);
          return;
        }
        const port = Number(r.stdout.trim());
        expect(Number.isInteger(port)).toBe(true);
        ports.push(port);
        owners.set(port, names[i] as string);
      });
      acknowledged += ports.length;
      duplicates += duplicatesOf(ports).length;

      const after = readRegistry(registry);
      for (const [port, owner] of owners) if (!after.allocations.some((a) => a.port === port && a.worktree === owner)) lost++;
      registryDuplicates += duplicatesOf(after.allocations.map((a) => a.port)).length;
      if (after.metadata.total_allocations !== after.allocations.length) metadataOff++;

      const releases = await Promise.all(names.map((name) => runPorts(['release', '--worktree', name, '--quiet', ...common], { cwd: dir, env })));
      releases.forEach((r, i) => {
        if (r.code === 0) releasedAcknowledged++;
        else if (owners.has(Number(allocs[i]?.stdout.trim()))) {
          failed++;
          failures.push(`round ${round} release ${names[i]}: exit ${r.code}: ${r.stderr.trim()}`);
        }
      });
      const emptied = readRegistry(registry);
      leftAfterRelease += emptied.allocations.length;
      if (emptied.metadata.total_allocations !== emptied.allocations.length) metadataOff++;
    }
  } finally {
    reads = await reader.stop();
  }
  if (!reads) throw new Error('the reader did not report');
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  summary(
    `${PROCS} procs x ${ROUNDS} rounds: ${acknowledged} allocations acknowledged, ${duplicates} duplicate ports, ${lost} lost, ` +
      `${registryDuplicates} duplicates in the registry, ${releasedAcknowledged} releases, ${leftAfterRelease} left after release, ` +
      `${failed} failed commands; reader: ${reads.reads} reads, ${reads.parsed} parsed, ${reads.failures} failed, ` +
      `${reads.inconsistent} with total_allocations off; slowest allocate ${Math.round(slowestMs)} ms; ${seconds} s`,
  );
  expect(failures).toEqual([]);
  expect(acknowledged).toBe(PROCS * ROUNDS);
  expect(duplicates).toBe(0);
  expect(lost).toBe(0);
  expect(registryDuplicates).toBe(0);
  expect(releasedAcknowledged).toBe(PROCS * ROUNDS);
  expect(leftAfterRelease).toBe(0);
  expect(metadataOff).toBe(0);
  expect(reads.reads).toBeGreaterThan(100);
  expect(reads.firstFailure).toBeNull();
  expect(reads.parsed).toBe(reads.reads);
  expect(reads.inconsistent).toBe(0);
}, 420_000);
