/**
 * Every kind of file a user or a secret manager may put where the env file goes (decisions:
 * src/io/env-file.ts), through the built CLI and through the real post-checkout hook: never
 * block, never write through into a shared file, never lose a byte outside the block, say
 * what to do.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { cleanupTemps, git, gitRun, makeInstalledRepo, portsBin, testEnv, type Repo } from '../helpers/repo';

afterAll(() => cleanupTemps());

const BASE = 25100;

/**
 * `ports ARGS` with a deadline: the shared runner waits forever, and a FIFO made the old code
 * wait forever. A run killed at the deadline has status null.
 */
function portsWithin(args: readonly string[], cwd: string, extraEnv: Record<string, string | undefined> = {}) {
  const r = spawnSync(process.execPath, [portsBin(), ...args], { cwd, env: testEnv(extraEnv), encoding: 'utf8', timeout: 20_000, killSignal: 'SIGKILL' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function gitWithin(args: readonly string[], cwd: string, extraEnv: Record<string, string | undefined> = {}) {
  const r = spawnSync('git', args, { cwd, env: testEnv(extraEnv), encoding: 'utf8', timeout: 20_000, killSignal: 'SIGKILL' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

let repo: Repo;
let counter = 0;
beforeAll(() => {
  repo = makeInstalledRepo({ base: BASE });
});

/** A new linked worktree whose hook did nothing (PORTS=0), so the next command meets the file first. */
function bareWorktree(): string {
  const dir = repo.wt(`kind-${++counter}`);
  git(['worktree', 'add', '-q', '--detach', dir], repo.main, { PORTS: '0' });
  return dir;
}

function lstatKind(file: string): string {
  const s = fs.lstatSync(file);
  return s.isSymbolicLink() ? 'symlink' : s.isFIFO() ? 'fifo' : s.isSocket() ? 'socket' : s.isCharacterDevice() ? 'device' : s.isDirectory() ? 'directory' : 'file';
}

describe('a regular file', () => {
  test('keeps every byte outside the block, non-UTF-8 included, and its mode', () => {
    const dir = bareWorktree();
    const env = path.join(dir, '.env');
    const mine = Buffer.concat([Buffer.from('SECRET=caf'), Buffer.from([0xe9, 0xff, 0xfe]), Buffer.from('\r\nLATIN=\xa0\r\n', 'latin1')]);
    fs.writeFileSync(env, mine);
    fs.chmodSync(env, 0o640);
    const r = portsWithin(['allocate'], dir);
    expect(r.stderr).not.toMatch(/Error/);
    expect(r.status).toBe(0);
    const after = fs.readFileSync(env);
    expect(after.subarray(0, mine.length).equals(mine)).toBe(true);
    expect(fs.statSync(env).mode & 0o777).toBe(0o640);
    expect(after.toString('latin1')).toContain('PORT_WEB=');
    expect(portsWithin(['release'], dir).status).toBe(0);
    expect(fs.readFileSync(env).equals(mine)).toBe(true);
  });

  test('a user\'s empty .env stays (empty) when the ports are released', () => {
    const dir = bareWorktree();
    const env = path.join(dir, '.env');
    fs.writeFileSync(env, '');
    expect(portsWithin(['allocate'], dir).status).toBe(0);
    expect(fs.readFileSync(env, 'utf8')).toContain('PORT_WEB=');
    expect(portsWithin(['release'], dir).status).toBe(0);
    expect(fs.existsSync(env)).toBe(true);
    expect(fs.readFileSync(env, 'utf8')).toBe('');
  });

  test('a file the tool created is deleted again on release', () => {
    const dir = bareWorktree();
    expect(portsWithin(['allocate'], dir).status).toBe(0);
    expect(fs.existsSync(path.join(dir, '.env'))).toBe(true);
    expect(portsWithin(['release'], dir).status).toBe(0);
    expect(fs.existsSync(path.join(dir, '.env'))).toBe(false);
  });

  test('a read-only file (chmod 444) is refused, not rewritten', () => {
    const dir = bareWorktree();
    const env = path.join(dir, '.env');
    fs.writeFileSync(env, 'MINE=1\n');
    fs.chmodSync(env, 0o444);
    const r = portsWithin(['env'], dir);
    expect(r.status).toBe(4);
    expect(r.stderr).toMatch(/read-only.*chmod u\+w/s);
    expect(fs.readFileSync(env, 'utf8')).toBe('MINE=1\n');
    expect(fs.statSync(env).mode & 0o777).toBe(0o444);
  });

  test('a file with a second hard link (shared) is refused', () => {
    const dir = bareWorktree();
    const shared = path.join(repo.root, `shared-hard-${counter}.env`);
    fs.writeFileSync(shared, 'SHARED=1\n');
    fs.linkSync(shared, path.join(dir, '.env'));
    const r = portsWithin(['env'], dir);
    expect(r.status).toBe(4);
    expect(r.stderr).toMatch(/hard links/);
    expect(fs.readFileSync(shared, 'utf8')).toBe('SHARED=1\n');
  });
});

describe('symlinks', () => {
  test('a link to a file outside the worktree is refused by the command and by the hook; the shared file is untouched', () => {
    const shared = path.join(repo.root, 'shared-secrets.env');
    fs.writeFileSync(shared, 'SECRET=1\n');
    const dir2 = bareWorktree();
    fs.symlinkSync(shared, path.join(dir2, '.env'));
    const r = portsWithin(['env'], dir2);
    expect(r.status).toBe(4);
    expect(r.stderr).toMatch(/symlink to .*outside this worktree/);
    expect(r.stderr).toMatch(/Replace the link by a file of this worktree/);
    expect(lstatKind(path.join(dir2, '.env'))).toBe('symlink');
    expect(fs.readFileSync(shared, 'utf8')).toBe('SECRET=1\n');
    // The hook, on a checkout in that worktree: a warning, exit 0, the shared file untouched.
    const checkout = gitWithin(['checkout', '-q', '-b', `b-${counter}`], dir2);
    expect(checkout.status).toBe(0);
    expect(checkout.stderr).toMatch(/outside this worktree/);
    expect(fs.readFileSync(shared, 'utf8')).toBe('SECRET=1\n');
    expect(lstatKind(path.join(dir2, '.env'))).toBe('symlink');
  });

  test('a link to a file inside the worktree is followed: the target gets the block, the link stays', () => {
    const dir = bareWorktree();
    fs.writeFileSync(path.join(dir, '.env.development'), 'MINE=1\n');
    fs.symlinkSync('.env.development', path.join(dir, '.env'));
    const r = portsWithin(['env'], dir);
    expect(r.status).toBe(0);
    expect(lstatKind(path.join(dir, '.env'))).toBe('symlink');
    expect(fs.readFileSync(path.join(dir, '.env.development'), 'utf8')).toMatch(/^MINE=1\n# >>> ports.*\nPORT_WEB=\d+/s);
  });

  test('a dangling link is refused and stays a link', () => {
    const dir = bareWorktree();
    fs.symlinkSync('nowhere.env', path.join(dir, '.env'));
    const r = portsWithin(['env'], dir);
    expect(r.status).toBe(4);
    expect(r.stderr).toMatch(/symlink to nowhere.env, which does not exist/);
    expect(lstatKind(path.join(dir, '.env'))).toBe('symlink');
  });
});

describe('files that must never be opened', () => {
  test('a FIFO (as secret managers serve .env): env, check, doctor, allocate and the hook do not block, and it stays a FIFO', () => {
    const dir = bareWorktree();
    const env = path.join(dir, '.env');
    expect(spawnSync('mkfifo', [env]).status).toBe(0);
    const allocate = portsWithin(['allocate'], dir);
    expect(allocate.status).toBe(4);
    expect(allocate.stderr).toMatch(/named pipe \(FIFO\).*never opens it/);
    expect(allocate.stderr).toMatch(/Point `envFile`/);
    // The ports were allocated all the same: the refusal concerns the file only.
    expect(repo.allocationsOf(dir).length).toBe(4);
    for (const args of [['env'], ['check'], ['doctor']]) {
      const r = portsWithin(args, dir);
      expect({ args, status: r.status }).toEqual({ args, status: expect.any(Number) });
      expect(r.stdout + r.stderr).toMatch(/FIFO/);
    }
    expect(lstatKind(env)).toBe('fifo');
  });

  test('a FIFO met by the hook on checkout: a warning, git exits 0, it stays a FIFO', () => {
    const dir = bareWorktree();
    const env = path.join(dir, '.env');
    expect(spawnSync('mkfifo', [env]).status).toBe(0);
    const checkout = gitWithin(['checkout', '-q', '-b', `fifo-${counter}`], dir);
    expect(checkout.status).toBe(0);
    expect(checkout.stderr).toMatch(/post-checkout hook: .*FIFO/);
    expect(lstatKind(env)).toBe('fifo');
    expect(repo.allocationsOf(dir).length).toBe(4);
  });

  test('a socket is refused and stays a socket', async () => {
    const dir = bareWorktree();
    const env = path.join(dir, '.env');
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(env, resolve));
    try {
      const r = portsWithin(['env'], dir);
      expect(r.status).toBe(4);
      expect(r.stderr).toMatch(/is a socket/);
      expect(lstatKind(env)).toBe('socket');
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  const canMknod = spawnSync('mknod', ['--help']).status === 0 && process.getuid?.() === 0;
  if (!canMknod) console.log('device-node test skipped: mknod needs root');
  (canMknod ? test : test.skip)('a device node is refused and stays a device', () => {
    const dir = bareWorktree();
    const env = path.join(dir, '.env');
    expect(spawnSync('mknod', [env, 'c', '1', '3']).status).toBe(0);
    const r = portsWithin(['env'], dir);
    expect(r.status).toBe(4);
    expect(r.stderr).toMatch(/is a device/);
    expect(lstatKind(env)).toBe('device');
  });

  test('a folder is refused', () => {
    const dir = bareWorktree();
    fs.mkdirSync(path.join(dir, '.env'));
    const r = portsWithin(['env'], dir);
    expect(r.status).toBe(4);
    expect(r.stderr).toMatch(/is a folder/);
    expect(lstatKind(path.join(dir, '.env'))).toBe('directory');
  });
});

describe('the hook meets each refused kind on checkout: a warning, git exits 0, the file stays as it was', () => {
  const kinds: Array<[string, (env: string, dir: string) => void, string, RegExp]> = [
    ['dangling symlink', (env) => fs.symlinkSync('nowhere.env', env), 'symlink', /does not exist/],
    ['folder', (env) => fs.mkdirSync(env), 'directory', /is a folder/],
    ['read-only file', (env) => (fs.writeFileSync(env, 'MINE=1\n'), fs.chmodSync(env, 0o444)), 'file', /is read-only/],
    // mknod needs root (see the device test above for the skip notice).
    ...(process.getuid?.() === 0 ? [['device', (env: string) => expect(spawnSync('mknod', [env, 'c', '1', '3']).status).toBe(0), 'device', /is a device/] as [string, (env: string, dir: string) => void, string, RegExp]] : []),
  ];
  test.each(kinds)('%s', (_label, make, kind, warning) => {
    const dir = bareWorktree();
    const env = path.join(dir, '.env');
    make(env, dir);
    const before = kind === 'file' ? fs.readFileSync(env, 'utf8') : null;
    const checkout = gitWithin(['checkout', '-q', '-b', `hook-kind-${counter}`], dir);
    expect(checkout.status).toBe(0);
    expect(checkout.stderr).toMatch(/post-checkout hook: /);
    expect(checkout.stderr).toMatch(warning);
    expect(lstatKind(env)).toBe(kind);
    if (before !== null) expect(fs.readFileSync(env, 'utf8')).toBe(before);
    // The ports are allocated all the same: only the file was refused.
    expect(repo.allocationsOf(dir).length).toBe(4);
  });
});

describe('leftovers and malformed files', () => {
  /** A PID that has exited. */
  function deadPid(): number {
    const pid = Number(String(spawnSync('sh', ['-c', 'echo $$']).stdout).trim());
    expect(fs.existsSync(`/proc/${pid}`)).toBe(false);
    return pid;
  }

  test('the temp file of a killed write is removed by the next write', () => {
    const dir = bareWorktree();
    const leftover = path.join(dir, `.env.${deadPid()}.1abc.tmp`);
    fs.writeFileSync(leftover, 'PORT_WEB=1\n');
    expect(portsWithin(['env'], dir).status).toBe(0);
    expect(fs.existsSync(leftover)).toBe(false);
  });

  test('the temp file of a killed write is removed by doctor --fix, and git can remove the worktree', () => {
    const dir = bareWorktree();
    expect(portsWithin(['allocate'], dir).status).toBe(0);
    const leftover = path.join(dir, `.env.${deadPid()}.2def.tmp`);
    fs.writeFileSync(leftover, 'PORT_WEB=1\n');
    const r = portsWithin(['doctor', '--fix'], repo.main);
    expect(r.stdout + r.stderr).toMatch(/removed 1 leftover env temp file/);
    expect(fs.existsSync(leftover)).toBe(false);
    expect(gitRun(['worktree', 'remove', dir], repo.main).status).toBe(0);
  });

  test('a malformed block does not stop `ports remove --force`', () => {
    const dir = bareWorktree();
    expect(portsWithin(['allocate'], dir).status).toBe(0);
    fs.appendFileSync(path.join(dir, '.env'), '# >>> ports (a second begin) >>>\n');
    const r = portsWithin(['remove', '--force', dir], repo.main);
    expect(r.stderr).toMatch(/released/);
    expect(r.status).toBe(0);
    expect(fs.existsSync(dir)).toBe(false);
    expect(repo.allocationsOf(dir)).toEqual([]);
  });
});

describe('config "envFile" must name a file of the worktree', () => {
  test.each(['.git', 'sub/.git/config', '../outside.env', '/tmp/abs.env', 'a/../../b', ''])('%j is a config error', (envFile) => {
    const dir = bareWorktree();
    const config = JSON.parse(fs.readFileSync(path.join(repo.main, '.portsrc.json'), 'utf8'));
    fs.writeFileSync(path.join(dir, '.portsrc.json'), JSON.stringify({ ...config, envFile }));
    const before = fs.readFileSync(path.join(dir, '.git'), 'utf8');
    const r = portsWithin(['env'], dir);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/envFile: must be a relative path of a file inside the worktree/);
    expect(fs.readFileSync(path.join(dir, '.git'), 'utf8')).toBe(before);
    expect(fs.existsSync(path.join(repo.root, 'outside.env'))).toBe(false);
  });
});
