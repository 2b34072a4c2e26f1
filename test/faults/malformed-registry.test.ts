/**
 * Malformed registries and hostile file systems, each through `allocate`, `status` and
 * `release`: exit 5, stderr naming the file and the place, and the file left byte for byte
 * (and mtime) as it was. Duplicate ports are the exception by design: the file is valid, so
 * reads and writes go on and `ports check` / `ports doctor` report the conflict.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Registry } from '../../src/core/registry-schema';
import { leftovers, readRegistry, registryWith, runPorts, summary, tempDir, writeJson, type RunResult } from '../helpers/faults';
import { testWhen, type Availability } from '../helpers/servers';

let root: string;
beforeAll(() => {
  root = tempDir('malformed');
});
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

const valid = (): Registry => registryWith([{ port: 8080, worktree: 'alpha' }, { port: 8081, worktree: 'beta' }]);
const validText = (): string => JSON.stringify(valid(), null, 2) + '\n';
const edit = (change: (r: Registry & Record<string, unknown>) => void) => () => {
  const r = valid() as Registry & Record<string, unknown>;
  change(r);
  return JSON.stringify(r, null, 2) + '\n';
};
const at = (index: number, field: string, value: unknown) => edit((r) => ((r.allocations[index] as Record<string, unknown>)[field] = value));
/** Replaces the first `"port": 8080` in the pretty-printed text. */
const portText = (value: string) => () => validText().replace('"port": 8080', `"port": ${value}`);

interface Case {
  name: string;
  text: () => string | Buffer;
  /** What stderr must say about the place. */
  place: RegExp;
}

const cases: Case[] = [
  { name: 'empty file', text: () => '', place: /is empty/ },
  { name: 'only whitespace', text: () => ' \n\n', place: /is empty/ },
  { name: 'NUL bytes (cut short by a crash)', text: () => Buffer.concat([Buffer.from(validText().slice(0, 300)), Buffer.alloc(200)]), place: /NUL bytes \(at byte 300\)/ },
  { name: 'trailing comma', text: () => validText().replace('"health_status": "unknown"\n', '"health_status": "unknown",\n'), place: /not valid JSON at line \d+, column \d+/ },
  { name: 'truncated', text: () => validText().slice(0, 250), place: /not valid JSON/ },
  {
    name: 'git conflict markers',
    text: () => validText().replace('    {\n      "port": 8081', '<<<<<<< HEAD\n    {\n      "port": 8081'),
    place: /git conflict markers \(line \d+, column 1\)/,
  },
  { name: 'duplicate key', text: () => validText().replace('"port": 8081', '"port": 8081,\n      "port": 8082'), place: /allocations\[1\]\.port: duplicate key "port"/ },
  { name: 'duplicate range', text: () => validText().replace('"ranges": {', '"ranges": {\n    "svc": { "start": 1, "end": 2, "description": "" },'), place: /ranges\.svc: duplicate key "svc"/ },
  { name: '1e999', text: portText('1e999'), place: /allocations\[0\]\.port: expected a number, got a number too large for JSON/ },
  { name: '__proto__ key', text: () => validText().replace('"port": 8081', '"__proto__": { "port": 1 },\n      "port": 8081'), place: /allocations\[1\]\.__proto__: "__proto__" keys are not allowed/ },
  { name: 'escaped __proto__ key', text: () => validText().replace('"ranges": {', '"ranges": {\n    "__pro\\u0074o__": {},'), place: /ranges\.__proto__: "__proto__" keys are not allowed/ },
  { name: 'port as text', text: at(0, 'port', '8080'), place: /allocations\[0\]\.port: expected a number, got the text "8080"/ },
  { name: 'port as float', text: portText('8080.5'), place: /allocations\[0\]\.port: expected an integer, got 8080\.5/ },
  { name: 'port 0', text: portText('0'), place: /allocations\[0\]\.port: expected a number ≥ 1, got 0/ },
  { name: 'port 65536', text: portText('65536'), place: /allocations\[0\]\.port: expected a number ≤ 65535, got 65536/ },
  { name: 'negative port', text: portText('-8080'), place: /allocations\[0\]\.port: expected a number ≥ 1, got -8080/ },
  { name: 'port null', text: portText('null'), place: /allocations\[0\]\.port: expected a number, got null/ },
  { name: 'unknown health status', text: at(1, 'health_status', 'sleepy'), place: /allocations\[1\]\.health_status: expected one of .*got the text "sleepy"/ },
  { name: 'schema_version 2', text: edit((r) => (r.metadata.schema_version = 2)), place: /metadata\.schema_version: expected a number ≤ 1 .*upgrade ports.*got 2/ },
  { name: 'reversed range', text: edit((r) => (r.ranges.web = { start: 8099, end: 8080, description: '' })), place: /ranges\.web\.end: start must not be greater than end/ },
  { name: 'range end 70000', text: edit((r) => (r.ranges.web = { start: 8080, end: 70000, description: '' })), place: /ranges\.web\.end: expected a number ≤ 65535, got 70000/ },
  { name: 'no allocations', text: edit((r) => delete (r as Partial<Registry>).allocations), place: /allocations: expected an array, got nothing/ },
  { name: 'no ranges', text: edit((r) => delete (r as Partial<Registry>).ranges), place: /ranges: expected an object, got nothing/ },
  { name: 'no metadata', text: edit((r) => delete (r as Partial<Registry>).metadata), place: /metadata: expected an object, got nothing/ },
  { name: 'allocations an object', text: edit((r) => ((r as Record<string, unknown>).allocations = {})), place: /allocations: expected an array, got an object/ },
  { name: 'array at the root', text: () => '[]\n', place: /\(root\): expected an object/ },
  { name: 'control character in a name', text: at(0, 'worktree', 'evil\nPORT_WEB=1'), place: /allocations\[0\]\.worktree: must not contain control characters/ },
];

function snapshot(file: string): { bytes: Buffer; mtimeMs: number } {
  return { bytes: fs.readFileSync(file), mtimeMs: fs.statSync(file).mtimeMs };
}

/** The three commands every case goes through; `release` by port and by worktree both take the lock. */
function commands(registry: string): string[][] {
  return [
    ['allocate', 'web', '--worktree', 'gamma', '--registry', registry],
    ['status', '--all', '--registry', registry],
    ['release', '--worktree', 'alpha', '--registry', registry],
  ];
}

interface Outcome {
  label: string;
  run: RunResult;
}

async function runAll(registry: string): Promise<Outcome[]> {
  const outcomes: Outcome[] = [];
  for (const args of commands(registry)) outcomes.push({ label: args[0] as string, run: await runPorts(args, { cwd: path.dirname(registry) }) });
  return outcomes;
}

test('every malformed registry is refused with exit 5, the file and the place named, and not a byte changed', async () => {
  const problems: string[] = [];
  let runs = 0;
  for (const [index, c] of cases.entries()) {
    const dir = path.join(root, `case-${index}`);
    fs.mkdirSync(dir);
    const registry = path.join(dir, 'ports.json');
    fs.writeFileSync(registry, c.text());
    const past = new Date(Date.now() - 60_000);
    fs.utimesSync(registry, past, past);
    const before = snapshot(registry);
    for (const { label, run } of await runAll(registry)) {
      runs++;
      const where = `${c.name} / ${label}`;
      if (run.code !== 5) problems.push(`${where}: exit ${run.code}`);
      if (!run.stderr.includes(registry)) problems.push(`${where}: stderr does not name the file: ${run.stderr.trim()}`);
      if (!c.place.test(run.stderr)) problems.push(`${where}: stderr does not say ${c.place}: ${run.stderr.trim()}`);
      if (!/ports doctor --fix|Fix it by hand/.test(run.stderr)) problems.push(`${where}: stderr does not say what to do: ${run.stderr.trim()}`);
      if (run.stdout !== '') problems.push(`${where}: printed a result: ${run.stdout.trim()}`);
    }
    const after = snapshot(registry);
    if (!after.bytes.equals(before.bytes)) problems.push(`${c.name}: the file changed`);
    if (after.mtimeMs !== before.mtimeMs) problems.push(`${c.name}: the mtime changed`);
    const left = leftovers(registry);
    if (left.length) problems.push(`${c.name}: left ${left.join(', ')}`);
  }
  summary(`malformed registries: ${cases.length} kinds x 3 commands = ${runs} runs, ${problems.length} problems (each exit 5 naming the file and the place, 0 bytes or mtimes changed)`);
  expect(problems).toEqual([]);
}, 120_000);

test('a registry saved with a byte-order mark (a Windows editor) is read, not refused', async () => {
  const dir = path.join(root, 'bom');
  fs.mkdirSync(dir);
  const registry = path.join(dir, 'ports.json');
  fs.writeFileSync(registry, '\uFEFF' + validText());
  const status = await runPorts(['status', '--all', '--json', '--registry', registry], { cwd: dir });
  expect(status.stderr).toBe('');
  expect(status.code).toBe(0);
  const allocate = await runPorts(['allocate', 'web', '--worktree', 'gamma', '--quiet', '--registry', registry], { cwd: dir });
  expect(allocate.code).toBe(0);
  expect(readRegistry(registry).allocations).toHaveLength(3);
});

test('a symlinked registry, a directory, a named pipe or a device in its place is refused (exit 5) and left alone', async () => {
  const dir = path.join(root, 'links');
  fs.mkdirSync(dir);
  const real = path.join(dir, 'real.json');
  fs.writeFileSync(real, validText());
  const link = path.join(dir, 'ports.json');
  fs.symlinkSync('real.json', link);
  const before = snapshot(real);
  const problems: string[] = [];
  for (const { label, run } of await runAll(link)) {
    if (run.code !== 5) problems.push(`symlink / ${label}: exit ${run.code}: ${run.stderr.trim()}`);
    if (!run.stderr.includes(link) || !/symbolic link \(to real\.json\)/.test(run.stderr)) problems.push(`symlink / ${label}: ${run.stderr.trim()}`);
  }
  expect(fs.lstatSync(link).isSymbolicLink()).toBe(true);
  expect(snapshot(real)).toEqual(before);

  const asDir = path.join(root, 'dir-in-place', 'ports.json');
  fs.mkdirSync(asDir, { recursive: true });
  fs.writeFileSync(path.join(asDir, 'keep.txt'), 'mine');
  for (const { label, run } of await runAll(asDir)) {
    if (run.code !== 5) problems.push(`directory / ${label}: exit ${run.code}: ${run.stderr.trim()}`);
    if (!run.stderr.includes(asDir) || !/a directory is in its place/.test(run.stderr)) problems.push(`directory / ${label}: ${run.stderr.trim()}`);
  }
  expect(fs.readdirSync(asDir)).toEqual(['keep.txt']);

  // A directory where the lock goes: writes name the lock file; reads do not need the lock.
  const lockDirRegistry = path.join(root, 'lock-dir', 'ports.json');
  fs.mkdirSync(`${lockDirRegistry}.lock`, { recursive: true });
  fs.writeFileSync(lockDirRegistry, validText());
  const [lockedAllocate, lockedStatus] = await runAll(lockDirRegistry);
  if (lockedAllocate!.run.code !== 5 || !lockedAllocate!.run.stderr.includes(`lock file ${lockDirRegistry}.lock`) || !/a directory is in its place/.test(lockedAllocate!.run.stderr)) {
    problems.push(`directory as lock / allocate: exit ${lockedAllocate!.run.code}: ${lockedAllocate!.run.stderr.trim()}`);
  }
  if (lockedStatus!.run.code !== 0) problems.push(`directory as lock / status: exit ${lockedStatus!.run.code}`);
  expect(fs.readFileSync(lockDirRegistry, 'utf8')).toBe(validText());

  // A named pipe would block the read forever (and hang a git hook); a device must never be replaced.
  const fifo = path.join(root, 'fifo', 'ports.json');
  fs.mkdirSync(path.dirname(fifo));
  expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
  for (const { label, run } of await runAll(fifo)) {
    if (run.code !== 5) problems.push(`named pipe / ${label}: exit ${run.code}: ${run.stderr.trim()}`);
    if (!run.stderr.includes(fifo) || !/not a regular file but a named pipe/.test(run.stderr)) problems.push(`named pipe / ${label}: ${run.stderr.trim()}`);
  }
  expect(fs.statSync(fifo).isFIFO()).toBe(true);
  for (const { label, run } of await runAll('/dev/null')) {
    if (run.code !== 5 || !/not a regular file but a device/.test(run.stderr)) problems.push(`/dev/null / ${label}: exit ${run.code}: ${run.stderr.trim()}`);
  }
  expect(fs.statSync('/dev/null').isCharacterDevice()).toBe(true);
  summary(`symlinked registry, directory, named pipe and device in its place, directory as lock: 15 runs, ${problems.length} problems (exit 5, named, untouched)`);
  expect(problems).toEqual([]);
});

test('duplicate ports are valid JSON: reads and writes go on, no third holder is created, and the duplicate stays visible', async () => {
  const dir = path.join(root, 'duplicate-ports');
  fs.mkdirSync(dir);
  const registry = path.join(dir, 'ports.json');
  writeJson(registry, registryWith([{ port: 8080, worktree: 'alpha', allocated_at: '2026-11-01T00:00:00.000Z' }, { port: 8080, worktree: 'beta' }]));
  const status = await runPorts(['status', '--all', '--json', '--registry', registry], { cwd: dir });
  expect(status.code).toBe(0);
  expect((JSON.parse(status.stdout) as unknown[]).length).toBe(2);
  const allocate = await runPorts(['allocate', 'web', '--worktree', 'gamma', '--quiet', '--registry', registry], { cwd: dir });
  expect(allocate.code).toBe(0);
  expect(Number(allocate.stdout.trim())).not.toBe(8080);
  const asked = await runPorts(['allocate', 'web', '--worktree', 'delta', '--port', '8080', '--registry', registry], { cwd: dir });
  expect(asked.code).toBe(4);
  let check: RunResult | null = null;
  const help = await runPorts(['check', '--help'], { cwd: dir });
  if (help.code === 0) {
    check = await runPorts(['check', '--json', '--registry', registry], { cwd: dir });
    expect(check.code).toBe(4);
    expect(check.stdout).toMatch(/registry_conflict/);
  }
  const release = await runPorts(['release', '--worktree', 'beta', '--registry', registry], { cwd: dir });
  expect(release.code).toBe(0);
  expect(readRegistry(registry).allocations.filter((a) => a.port === 8080).map((a) => a.worktree)).toEqual(['alpha']);
  summary(
    `duplicate ports: status lists both (exit 0), allocate skips the port (got ${allocate.stdout.trim()}), --port on it exits 4, ` +
      `${check ? `ports check exits ${check.code} with registry_conflict` : 'ports check not built yet'}, releasing one holder keeps the other`,
  );
});

/** Runs a shell command; true when it worked. */
function sh(command: string): boolean {
  return spawnSync('sh', ['-c', command], { stdio: 'ignore' }).status === 0;
}

/** Tries `attempt` on a scratch folder when the file loads, so a test that cannot run here is reported skipped. */
function possibleHere(attempt: (dir: string) => boolean, reason: string): Availability {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'ports-faults-probe-'));
  try {
    return attempt(scratch) ? { ok: true } : { ok: false, reason };
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

const withReadOnlyFolder = testWhen(
  possibleHere(
    (dir) =>
      (sh(`chattr +i '${dir}'`) && sh(`chattr -i '${dir}'`)) ||
      (sh(`mount --bind '${dir}' '${dir}' && mount -o remount,ro,bind '${dir}'`) && sh(`umount '${dir}'`)) ||
      process.getuid?.() !== 0,
    'read-only folder: as root, and neither chattr +i nor a read-only bind mount works here',
  ),
);
const withTmpfs = testWhen(possibleHere((dir) => sh(`mount -t tmpfs -o size=64k tmpfs '${dir}'`) && sh(`umount '${dir}'`), 'disk full: mounting a tmpfs is not allowed here'));

withReadOnlyFolder('a read-only registry folder: writes fail with exit 5 naming the file, reads work, nothing changes', async () => {
  const dir = path.join(root, 'read-only');
  fs.mkdirSync(dir);
  const registry = path.join(dir, 'ports.json');
  fs.writeFileSync(registry, validText());
  // We run as root, for whom permissions are no obstacle: make the folder immutable instead.
  let how: string | null = null;
  let undo = () => {};
  if (sh(`chattr +i '${dir}'`)) {
    how = 'chattr +i';
    undo = () => void sh(`chattr -i '${dir}'`);
  } else if (sh(`mount --bind '${dir}' '${dir}' && mount -o remount,ro,bind '${dir}'`)) {
    how = 'read-only bind mount';
    undo = () => void sh(`umount '${dir}'`);
  } else if (process.getuid?.() !== 0) {
    fs.chmodSync(dir, 0o555);
    how = 'chmod 555';
    undo = () => fs.chmodSync(dir, 0o755);
  }
  if (!how) throw new Error('no way to make the folder read-only, although one worked when the file loaded');
  try {
    const before = snapshot(registry);
    const [allocate, status, release] = await runAll(registry);
    expect(allocate!.run.code).toBe(5);
    expect(allocate!.run.stderr).toContain(registry);
    expect(allocate!.run.stderr).toMatch(/operation not permitted|permission denied|read-only/);
    expect(status!.run.code).toBe(0);
    expect(release!.run.code).toBe(5);
    expect(release!.run.stderr).toContain(registry);
    expect(snapshot(registry)).toEqual(before);
    expect(leftovers(registry)).toEqual([]);
    summary(`read-only folder (${how}): allocate exit ${allocate!.run.code}, release exit ${release!.run.code} naming the file; status exit ${status!.run.code}; file unchanged`);
  } finally {
    undo();
  }
});

withTmpfs('a full disk (64k tmpfs): writes fail with exit 5, the registry is unchanged, no temp file is left, and freeing space recovers', async () => {
  const dir = path.join(root, 'tmpfs');
  fs.mkdirSync(dir);
  if (!sh(`mount -t tmpfs -o size=64k tmpfs '${dir}'`)) throw new Error('mounting a tmpfs failed, although it worked when the file loaded');
  try {
    const registry = path.join(dir, 'ports.json');
    // Big enough that its replacement needs more pages than are left, while the lock's one page still fits.
    const big = registryWith(Array.from({ length: 80 }, (_, i) => ({ port: 27000 + i, worktree: i === 0 ? 'alpha' : `w-${i}`, service: 'svc', description: 'x'.repeat(80) })));
    writeJson(registry, big);
    const page = 4096;
    const { bavail, bsize } = fs.statfsSync(dir);
    const free = bavail * bsize;
    const pagesOfRegistry = Math.ceil(fs.statSync(registry).size / page);
    expect(pagesOfRegistry).toBeGreaterThan(3);
    fs.writeFileSync(path.join(dir, 'filler'), Buffer.alloc(free - 2 * page));
    const before = snapshot(registry);
    const [allocate, status, release] = await runAll(registry);
    const releasePort = await runPorts(['release', '27001', '--registry', registry], { cwd: dir });
    for (const [label, run] of [['allocate', allocate!.run], ['release --worktree', release!.run], ['release PORT', releasePort]] as const) {
      expect(`${label}: exit ${run.code}`).toBe(`${label}: exit 5`);
      expect(run.stderr).toContain(registry);
      expect(run.stderr).toMatch(/the disk is full/);
      expect(run.stderr).toMatch(/Free some disk space/);
    }
    expect(status!.run.code).toBe(0);
    expect(snapshot(registry)).toEqual(before);
    expect(leftovers(registry)).toEqual([]);
    fs.rmSync(path.join(dir, 'filler'));
    const again = await runPorts(['allocate', 'web', '--worktree', 'gamma', '--quiet', '--registry', registry], { cwd: dir });
    expect(again.code).toBe(0);
    expect(readRegistry(registry).allocations).toHaveLength(81);

    // Creating a registry on a full disk: one page left, taken by the lock, none for the file.
    fs.rmSync(registry);
    const left = fs.statfsSync(dir);
    fs.writeFileSync(path.join(dir, 'filler'), Buffer.alloc(left.bavail * left.bsize - page));
    const create = await runPorts(['allocate', 'web', '--worktree', 'gamma', '--registry', registry], { cwd: dir });
    expect(create.code).toBe(5);
    expect(create.stderr).toContain(registry);
    expect(create.stderr).toMatch(/the disk is full/);
    expect(fs.existsSync(registry)).toBe(false);
    fs.rmSync(path.join(dir, 'filler'));
    const created = await runPorts(['allocate', 'web', '--worktree', 'gamma', '--quiet', '--registry', registry], { cwd: dir });
    expect(created.code).toBe(0);
    expect(leftovers(registry)).toEqual([]);
    summary(
      `disk full (64k tmpfs, registry ${pagesOfRegistry} pages, 2 pages free): allocate/release exit 5 "the disk is full", status exit 0, file unchanged, ` +
        `0 temp files left; after freeing space allocate exit ${again.code}; creating a registry on a full disk exit ${create.code}, then exit ${created.code} with nothing left over`,
    );
  } finally {
    sh(`umount '${dir}'`);
  }
});
