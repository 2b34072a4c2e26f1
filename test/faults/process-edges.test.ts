/**
 * Process edges: a reader that closes the pipe, a deleted current folder, a missing --cwd, a
 * config that does not parse, a repair that fails. Each ends with one clear message (or none),
 * never a Node stack trace.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { registryWith, writeJson } from '../helpers/faults';
import { cleanupTemps, git, makeRepo, ports, portsBin, tempDir, testEnv } from '../helpers/repo';

afterAll(() => cleanupTemps());

const STACK = /\n\s+at .+\(.*:\d+:\d+\)|node:internal/;

/** Runs `bash -c SCRIPT` with $PORTS set to the CLI; prints the exit status of ports (first in the pipe). */
function bash(script: string, cwd: string) {
  const r = spawnSync('bash', ['-c', script], { cwd, env: testEnv({ PORTS_BIN: portsBin(), NODE: process.execPath }), encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('a reader that goes away', () => {
  test('`ports status --all | head -1` and `ports doctor | true` end quietly with exit 0', () => {
    const dir = tempDir('ports-pipe-');
    const registry = path.join(dir, 'ports.json');
    // Far more output than a pipe holds, so the write after `head` exits must fail.
    writeJson(registry, registryWith(Array.from({ length: 999 }, (_, i) => ({ port: 41000 + i, worktree: `w-${i}-${'x'.repeat(150)}`, service: 'svc' }))));
    const head = bash(`"$NODE" "$PORTS_BIN" status --all --registry ports.json 2>err.txt | head -1 >/dev/null; echo "status=\${PIPESTATUS[0]}"`, dir);
    expect(head.stdout.trim()).toBe('status=0');
    expect(fs.readFileSync(path.join(dir, 'err.txt'), 'utf8')).toBe('');
    const doctor = bash(`"$NODE" "$PORTS_BIN" doctor --registry ports.json 2>err2.txt | true; echo "status=\${PIPESTATUS[0]}"`, dir);
    expect(fs.readFileSync(path.join(dir, 'err2.txt'), 'utf8')).not.toMatch(/EPIPE/);
    expect(fs.readFileSync(path.join(dir, 'err2.txt'), 'utf8')).not.toMatch(STACK);
    expect(doctor.stdout.trim()).toMatch(/^status=(0|4)$/);
  });
});

describe('where ports runs', () => {
  test('from a deleted folder: one clear error, exit 1, no stack trace', () => {
    const base = tempDir('ports-gone-');
    const r = bash(`mkdir gone && cd gone && rmdir ../gone && "$NODE" "$PORTS_BIN" status`, base);
    expect(r.stderr).toMatch(/current folder no longer exists/);
    expect(r.stderr).not.toMatch(STACK);
    expect(r.status).toBe(1);
  });

  test('--cwd to a missing folder says "No such folder", exit 1', () => {
    const base = tempDir('ports-cwd-');
    const r = ports(['status', '--cwd', path.join(base, 'missing')], base);
    expect(r.stderr).toMatch(/No such folder: .*missing/);
    expect(r.stderr).not.toMatch(/git was not found/);
    expect(r.status).toBe(1);
  });
});

describe('a config that does not parse', () => {
  test.each([
    ['.portsrc.json', '{\n  "services": {\n    "web": true,\n  }\n}\n', /\.portsrc\.json: line 4, column 3: expected/],
    ['.portsrc.yaml', 'services:\n  web: [\n', /\.portsrc\.yaml: line 3, column 1: unexpected end of the stream/],
    ['.portsrc.yml', 'services:\n\tweb: true\n', /\.portsrc\.yml: line 2, column 1: .*tab/i],
  ])('%s: the file, line, column and reason', (name, text, message) => {
    const repo = makeRepo({ base: 26500 });
    fs.rmSync(path.join(repo.main, '.portsrc.json'));
    fs.writeFileSync(path.join(repo.main, name), text);
    const r = ports(['status'], repo.main);
    expect(r.stderr).toMatch(message);
    expect(r.status).toBe(1);
  });
});

test('doctor --fix that could not allocate does not say "Fixed" and exits non-zero', () => {
  const repo = makeRepo({ base: 26500 });
  const config = JSON.parse(fs.readFileSync(path.join(repo.main, '.portsrc.json'), 'utf8'));
  config.ranges = { web: { start: 26500, end: 26500, description: 'one port' } };
  config.services = { web: true };
  fs.writeFileSync(path.join(repo.main, '.portsrc.json'), JSON.stringify(config));
  expect(ports(['allocate'], repo.main).status).toBe(0);
  const wt = repo.wt('no-room');
  git(['worktree', 'add', '-q', '--detach', wt], repo.main);
  const r = ports(['doctor', '--fix'], repo.main);
  expect(r.stderr).toMatch(/not fixed: could not allocate for no-room: No free port/);
  expect(r.stderr).not.toMatch(/Fixed;/);
  expect(r.status).toBe(4);
});
