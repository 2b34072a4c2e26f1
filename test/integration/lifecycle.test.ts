/**
 * The worktree lifecycle end to end (issue 3): real `git init`, real `git worktree
 * add/remove/move/lock`, the post-checkout hook installed by `ports install` in the common hooks
 * folder, the built CLI as a real process. Each repository declares four services on ranges
 * private to the test (see test/helpers/repo.ts), so no real service on the machine is touched.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse as parseDotenv } from 'dotenv';
import {
  cleanupTemps,
  expectAgreement,
  expectDistinctPorts,
  git,
  gitRun,
  makeInstalledRepo,
  makeRepo,
  ports,
  portsOk,
  spawnRun,
  type Repo,
} from '../helpers/repo';

afterAll(() => cleanupTemps());

/** Ports held by `dir`, service → port (empty when none). */
function portsOf(repo: Repo, dir: string): Record<string, number> {
  return Object.fromEntries(repo.allocationsOf(dir).map((a) => [a.service, a.port]));
}

/** `git worktree add ARGS` in `cwd`, which must succeed; returns git's stderr (the hook's messages land there). */
function addWorktree(repo: Repo, args: string[], cwd = repo.main, env: Record<string, string | undefined> = {}): string {
  const r = gitRun(['worktree', 'add', ...args], cwd, env);
  if (r.status !== 0) throw new Error(`git worktree add ${args.join(' ')} exited ${r.status}:\n${r.stderr}`);
  return r.stderr;
}

describe('git worktree add with the hook installed', () => {
  let repo: Repo;
  beforeAll(() => {
    repo = makeInstalledRepo();
  });

  test('installs the hook into the common hooks folder', () => {
    const hook = path.join(repo.main, '.git', 'hooks', 'post-checkout');
    expect(fs.statSync(hook).mode & 0o111).not.toBe(0);
    expect(fs.readFileSync(hook, 'utf8')).toContain('hook post-checkout "$@"');
  });

  test('allocates every declared service and writes the .env for a new branch (-b)', () => {
    const dir = repo.wt('new-branch');
    const stderr = addWorktree(repo, ['-b', 'new-branch', dir]);
    expectAgreement(repo, dir);
    expect(stderr).toMatch(/ports: new-branch: web \d+, api \d+, database \d+, cache \d+/);
    // The .env the tool writes is excluded from git, so the new worktree stays clean.
    expect(git(['status', '--porcelain'], dir)).toBe('');
  });

  test('allocates for an existing branch', () => {
    git(['branch', 'existing'], repo.main);
    const dir = repo.wt('existing-wt');
    addWorktree(repo, [dir, 'existing']);
    expectAgreement(repo, dir);
  });

  test('allocates for a detached worktree (--detach)', () => {
    const dir = repo.wt('detached');
    addWorktree(repo, ['--detach', dir, 'HEAD']);
    expect(git(['worktree', 'list', '--porcelain'], repo.main)).toContain(`worktree ${dir}\nHEAD `);
    expectAgreement(repo, dir);
  });

  test('--no-checkout runs no hook; the next git checkout in the worktree ensures its allocation', () => {
    const dir = repo.wt('no-checkout');
    addWorktree(repo, ['--no-checkout', '-b', 'no-checkout', dir]);
    expect(repo.allocationsOf(dir)).toEqual([]);
    expect(fs.existsSync(path.join(dir, '.env'))).toBe(false);
    git(['checkout', '-q', 'no-checkout'], dir);
    const first = expectAgreement(repo, dir);
    // Another checkout changes nothing: same ports, no second allocation.
    git(['checkout', '-q', '-b', 'no-checkout-2'], dir);
    expect(expectAgreement(repo, dir)).toEqual(first);
  });

  test('--no-checkout: `ports allocate` with no service ensures the allocation from the main worktree config', () => {
    const dir = repo.wt('no-checkout-cli');
    addWorktree(repo, ['--no-checkout', '-b', 'no-checkout-cli', dir]);
    expect(fs.existsSync(path.join(dir, '.portsrc.json'))).toBe(false);
    expect(repo.allocationsOf(dir)).toEqual([]);
    const out = portsOk(['allocate', '--json'], dir);
    const made = JSON.parse(out) as { service: string; port: number }[];
    expect(made.map((a) => a.service).sort()).toEqual(['api', 'cache', 'database', 'web']);
    const first = expectAgreement(repo, dir);
    // Idempotent: a second run holds the same ports.
    const again = JSON.parse(portsOk(['allocate', '--json'], dir)) as { service: string; port: number }[];
    expect(Object.fromEntries(again.map((a) => [a.service, a.port]))).toEqual(first);
    expect(repo.allocationsOf(dir)).toHaveLength(4);
  });

  test('allocates for a worktree added from inside a linked worktree, in the shared registry', () => {
    const from = repo.wt('new-branch');
    const dir = repo.wt('nested-add');
    addWorktree(repo, ['-b', 'nested-add', dir], from);
    expectAgreement(repo, dir);
    expect(fs.existsSync(path.join(from, 'design', 'worktrees', 'ports.json'))).toBe(false);
  });

  test('gives two worktrees distinct ports, none of them the main worktree’s (held since `ports install`)', () => {
    const a = expectAgreement(repo, repo.wt('new-branch'));
    const b = expectAgreement(repo, repo.wt('existing-wt'));
    const main = expectAgreement(repo, repo.main);
    for (const service of Object.keys(a)) expect(new Set([a[service], b[service], main[service]]).size).toBe(3);
    expectDistinctPorts(repo.registry());
  });
});

describe('what the hook does besides a new worktree', () => {
  let repo: Repo;
  beforeAll(() => {
    repo = makeInstalledRepo({ base: 23900 });
  });

  test('allocates for worktree paths with spaces, $ and quotes, and for a worktree inside the main worktree', () => {
    const odd = repo.wt(`with space $HOME 'q'`);
    addWorktree(repo, ['-b', 'odd', odd]);
    expectAgreement(repo, odd);
    const inner = path.join(repo.main, '.worktrees', 'inner');
    addWorktree(repo, ['-b', 'inner', inner]);
    expectAgreement(repo, inner);
    fs.rmSync(odd, { recursive: true, force: true });
    fs.rmSync(inner, { recursive: true, force: true });
    portsOk(['sync'], repo.main);
    expect(repo.allocationsOf(odd)).toEqual([]);
    expect(repo.allocationsOf(inner)).toEqual([]);
  });

  test('a branch checkout in the main worktree reclaims the ports of a vanished worktree; main keeps its own', () => {
    const mainPorts = expectAgreement(repo, repo.main);
    const dir = repo.wt('vanishing');
    addWorktree(repo, ['-b', 'vanishing', dir]);
    fs.rmSync(dir, { recursive: true, force: true });
    git(['checkout', '-q', '-b', 'side'], repo.main);
    git(['checkout', '-q', 'main'], repo.main);
    expect(repo.allocationsOf(dir)).toEqual([]);
    expect(expectAgreement(repo, repo.main)).toEqual(mainPorts);
  });

  test('reclaims the ports of a worktree removed with rm -rf and then git worktree prune', () => {
    const dir = repo.wt('pruned');
    addWorktree(repo, ['-b', 'pruned', dir]);
    fs.rmSync(dir, { recursive: true, force: true });
    git(['worktree', 'prune'], repo.main);
    expect(repo.listed()).not.toContain(dir);
    expect(repo.allocationsOf(dir)).toHaveLength(4);
    const report = JSON.parse(portsOk(['sync', '--json'], repo.main)) as { released: { worktree_path: string }[] };
    expect(report.released.filter((a) => a.worktree_path === dir)).toHaveLength(4);
  });

  test('a branch checkout in a linked worktree whose .env was deleted writes it again with the same ports', () => {
    const dir = repo.wt('lost-env');
    addWorktree(repo, ['-b', 'lost-env', dir]);
    const held = expectAgreement(repo, dir);
    fs.rmSync(path.join(dir, '.env'));
    git(['checkout', '-q', '-b', 'lost-env-2'], dir);
    expect(expectAgreement(repo, dir)).toEqual(held);
  });

  test('the hook in a clone allocates for the clone’s main worktree, in the clone’s own registry', () => {
    const clone = repo.wt('a-clone');
    git(['clone', '-q', repo.main, clone], repo.root);
    const head = git(['rev-parse', 'HEAD'], clone).trim();
    const r = ports(['hook', 'post-checkout', '0'.repeat(40), head, '1'], clone);
    expect(r.status).toBe(0);
    const own = JSON.parse(fs.readFileSync(path.join(clone, 'design', 'worktrees', 'ports.json'), 'utf8')) as { allocations: { worktree_path: string }[] };
    expect(new Set(own.allocations.map((a) => a.worktree_path))).toEqual(new Set([clone]));
    expect(repo.allocationsOf(clone)).toEqual([]);
    expect(fs.existsSync(path.join(clone, '.env'))).toBe(true);
  });

  test('without a ports config the hook is silent and creates no registry', () => {
    const bare = makeRepo({ base: 23900 });
    git(['rm', '-q', '.portsrc.json'], bare.main);
    git(['commit', '-q', '-m', 'no config'], bare.main);
    portsOk(['install'], bare.main);
    const dir = bare.wt('no-config');
    const stderr = addWorktree(bare, ['-b', 'no-config', dir]);
    expect(stderr).not.toMatch(/^ports/m);
    expect(fs.existsSync(bare.registryFile)).toBe(false);
    expect(fs.existsSync(path.join(dir, '.env'))).toBe(false);
  });
});

describe('reclaiming the ports of removed worktrees', () => {
  let repo: Repo;
  let keeper: string;
  beforeAll(() => {
    repo = makeInstalledRepo({ base: 22500 });
    keeper = repo.wt('keeper');
    addWorktree(repo, ['-b', 'keeper', keeper]);
  });

  test('reclaims the ports of a worktree removed with git worktree remove at the next ports allocate elsewhere', () => {
    const dir = repo.wt('gone-1');
    addWorktree(repo, ['-b', 'gone-1', dir]);
    expectAgreement(repo, dir);
    const keeperPorts = portsOf(repo, keeper);
    git(['worktree', 'remove', dir], repo.main);
    expect(repo.allocationsOf(dir)).toHaveLength(4); // git fires no hook on remove
    portsOk(['allocate'], keeper);
    expect(repo.allocationsOf(dir)).toEqual([]);
    expect(portsOf(repo, keeper)).toEqual(keeperPorts);
  });

  test('reclaims the ports of a worktree removed with git worktree remove at the next git worktree add', () => {
    const dir = repo.wt('gone-2');
    addWorktree(repo, ['-b', 'gone-2', dir]);
    git(['worktree', 'remove', dir], repo.main);
    const next = repo.wt('after-2');
    addWorktree(repo, ['-b', 'after-2', next]);
    expect(repo.allocationsOf(dir)).toEqual([]);
    expectAgreement(repo, next);
    expectDistinctPorts(repo.registry());
  });

  test('reclaims the ports of a worktree removed with rm -rf (prunable) at the next command', () => {
    const dir = repo.wt('gone-3');
    addWorktree(repo, ['-b', 'gone-3', dir]);
    fs.rmSync(dir, { recursive: true, force: true });
    expect(git(['worktree', 'list', '--porcelain'], repo.main)).toMatch(new RegExp(`worktree ${dir}\\n[^]*?prunable`));
    expect(repo.allocationsOf(dir)).toHaveLength(4);
    portsOk(['allocate'], keeper);
    expect(repo.allocationsOf(dir)).toEqual([]);
  });

  test('reclaims the ports of a worktree removed with rm -rf at the next git worktree add', () => {
    const dir = repo.wt('gone-4');
    addWorktree(repo, ['-b', 'gone-4', dir]);
    fs.rmSync(dir, { recursive: true, force: true });
    addWorktree(repo, ['-b', 'after-4', repo.wt('after-4')]);
    expect(repo.allocationsOf(dir)).toEqual([]);
  });

  test('ports sync --dry-run reports without changing anything; ports sync reclaims with a --json report', () => {
    const dir = repo.wt('gone-5');
    addWorktree(repo, ['-b', 'gone-5', dir]);
    const held = portsOf(repo, dir);
    fs.rmSync(dir, { recursive: true, force: true });
    const before = repo.registryText();

    const dry = JSON.parse(portsOk(['sync', '--dry-run', '--json'], repo.main)) as Record<string, { port: number; service: string; worktree_path: string | null }[] | boolean>;
    expect(dry.dry_run).toBe(true);
    const wouldRelease = dry.released as { port: number; service: string; worktree_path: string | null }[];
    expect(wouldRelease.map((a) => [a.service, a.port]).sort()).toEqual(Object.entries(held).sort());
    expect(wouldRelease.every((a) => a.worktree_path === dir)).toBe(true);
    expect(repo.registryText()).toBe(before);

    const text = ports(['sync', '--dry-run'], repo.main);
    expect(text.status).toBe(0);
    expect(text.stdout).toContain(`would release ${held.web} (web) of gone-5`);
    expect(repo.registryText()).toBe(before);

    const done = JSON.parse(portsOk(['sync', '--json'], repo.main)) as Record<string, unknown>;
    expect(done.dry_run).toBe(false);
    expect((done.released as { port: number }[]).map((a) => a.port).sort()).toEqual(Object.values(held).sort());
    expect(repo.allocationsOf(dir)).toEqual([]);
    expect(repo.allocationsOf(keeper)).toHaveLength(4);

    const idle = ports(['sync'], repo.main);
    expect(idle.status).toBe(0);
    expect(idle.stderr).toContain('Nothing to reclaim');
  });

  test('ports remove WORKTREE releases its ports and removes the worktree', () => {
    const dir = repo.wt('to-remove');
    addWorktree(repo, ['-b', 'to-remove', dir]);
    const held = portsOf(repo, dir);
    // EDITOR and PAGER set, as in most shells: git must still be run (simple-git refused to).
    const r = ports(['remove', 'to-remove'], repo.main, { EDITOR: 'vi', PAGER: 'less' });
    expect(r.status).toBe(0);
    for (const [service, port] of Object.entries(held)) expect(r.stdout).toContain(`released ${port} (${service})`);
    expect(fs.existsSync(dir)).toBe(false);
    expect(repo.listed()).not.toContain(dir);
    expect(repo.allocationsOf(dir)).toEqual([]);
  });

  test('ports remove refuses with exit 4 and keeps the ports when the worktree has modified files; --force removes it', () => {
    const dir = repo.wt('dirty');
    addWorktree(repo, ['-b', 'dirty', dir]);
    const held = portsOf(repo, dir);
    const envBefore = fs.readFileSync(path.join(dir, '.env'), 'utf8');
    fs.appendFileSync(path.join(dir, 'README.md'), 'local change\n');

    const refused = ports(['remove', dir], repo.main);
    expect(refused.status).toBe(4);
    expect(refused.stderr).toContain('--force');
    expect(fs.existsSync(path.join(dir, 'README.md'))).toBe(true);
    expect(repo.listed()).toContain(dir);
    expect(portsOf(repo, dir)).toEqual(held);
    expect(fs.readFileSync(path.join(dir, '.env'), 'utf8')).toBe(envBefore);

    const forced = ports(['remove', dir, '--force'], repo.main, { EDITOR: 'vi', PAGER: 'less' });
    expect(forced.status).toBe(0);
    expect(fs.existsSync(dir)).toBe(false);
    expect(repo.allocationsOf(dir)).toEqual([]);
  });

  test('ports remove of a worktree already deleted with rm -rf releases its ports and removes git\'s record', () => {
    const dir = repo.wt('deleted-then-removed');
    addWorktree(repo, ['-b', 'deleted-then-removed', dir]);
    fs.rmSync(dir, { recursive: true, force: true });
    const r = ports(['remove', 'deleted-then-removed'], repo.main);
    expect(r.status).toBe(0);
    expect(repo.listed()).not.toContain(dir);
    expect(repo.allocationsOf(dir)).toEqual([]);
  });

  test('git worktree move keeps the ports under the new path (seen by the next git worktree add and by ports sync)', () => {
    const dir = repo.wt('before-move');
    addWorktree(repo, ['-b', 'moving', dir]);
    const held = portsOf(repo, dir);
    const moved = repo.wt('after-move');
    git(['worktree', 'move', dir, moved], repo.main);

    addWorktree(repo, ['-b', 'after-6', repo.wt('after-6')]);
    expect(repo.allocationsOf(dir)).toEqual([]);
    expect(portsOf(repo, moved)).toEqual(held);
    expect(repo.allocationsOf(moved).every((a) => a.worktree === 'after-move')).toBe(true);

    // sync rewrites the moved worktree's .env (its Compose project name follows the folder).
    portsOk(['sync'], repo.main);
    expect(expectAgreement(repo, moved)).toEqual(held);
    expect(repo.envOf(moved)!.COMPOSE_PROJECT_NAME).toContain('after-move');
  });

  test('ports sync --json reports a move and keeps the ports', () => {
    const dir = repo.wt('move-src');
    addWorktree(repo, ['-b', 'move-src', dir]);
    const held = portsOf(repo, dir);
    const moved = repo.wt('move-dst');
    git(['worktree', 'move', dir, moved], repo.main);
    const report = JSON.parse(portsOk(['sync', '--json'], repo.main)) as { moved: { port: number; worktree_path: string; worktree: string }[]; released: unknown[] };
    expect(report.released).toEqual([]);
    expect(report.moved.map((m) => m.port).sort()).toEqual(Object.values(held).sort());
    expect(report.moved.every((m) => m.worktree_path === moved && m.worktree === 'move-dst')).toBe(true);
    expect(portsOf(repo, moved)).toEqual(held);
  });

  test('a locked worktree keeps its ports, even with its folder deleted; unlocked, it is reclaimed', () => {
    const dir = repo.wt('locked');
    addWorktree(repo, ['-b', 'locked', dir]);
    const held = portsOf(repo, dir);
    git(['worktree', 'lock', '--reason', 'on a USB disk', dir], repo.main);
    // ports remove refuses a locked worktree (git would, even with --force) without touching the registry.
    const registryBefore = repo.registryText();
    const refused = ports(['remove', dir, '--force'], repo.main);
    expect(refused.status).toBe(4);
    expect(refused.stderr).toContain('git worktree unlock');
    expect(repo.registryText()).toBe(registryBefore);
    expect(fs.existsSync(path.join(dir, '.env'))).toBe(true);
    fs.rmSync(dir, { recursive: true, force: true });

    addWorktree(repo, ['-b', 'after-7', repo.wt('after-7')]);
    portsOk(['allocate'], keeper);
    expect(portsOf(repo, dir)).toEqual(held);
    const report = JSON.parse(portsOk(['sync', '--json'], repo.main)) as { kept_locked: { port: number }[]; released: { worktree_path: string }[] };
    expect(report.kept_locked.map((a) => a.port).sort()).toEqual(Object.values(held).sort());
    expect(report.released.filter((a) => a.worktree_path === dir)).toEqual([]);
    expect(portsOf(repo, dir)).toEqual(held);

    git(['worktree', 'unlock', dir], repo.main);
    portsOk(['sync'], repo.main);
    expect(repo.allocationsOf(dir)).toEqual([]);
  });

  test('allocations made by name are never reclaimed implicitly; sync lists them as unlinked and releases them with --release-unlinked', () => {
    const made = JSON.parse(portsOk(['allocate', 'web', '--worktree', 'review-GH-42', '--json'], repo.main)) as { port: number; worktree_path?: string }[];
    expect(made).toHaveLength(1);
    expect(made[0]!.worktree_path).toBeUndefined();
    const port = made[0]!.port;
    const byName = () => repo.registry().allocations.filter((a) => a.worktree === 'review-GH-42');

    addWorktree(repo, ['-b', 'after-8', repo.wt('after-8')]);
    portsOk(['allocate'], keeper);
    const report = JSON.parse(portsOk(['sync', '--json'], repo.main)) as { unlinked: { port: number; worktree: string }[]; released: { port: number }[] };
    expect(report.unlinked).toEqual([expect.objectContaining({ port, worktree: 'review-GH-42', worktree_path: null })]);
    expect(report.released.map((a) => a.port)).not.toContain(port);
    expect(byName()).toHaveLength(1);

    const text = ports(['sync'], repo.main);
    expect(text.stdout).toContain(`not linked to a worktree`);
    expect(text.stdout).toContain(`${port} web review-GH-42`);
    expect(byName()).toHaveLength(1);

    const released = JSON.parse(portsOk(['sync', '--release-unlinked', '--json'], repo.main)) as { unlinked_released: { port: number }[]; unlinked: unknown[] };
    expect(released.unlinked_released.map((a) => a.port)).toEqual([port]);
    expect(released.unlinked).toEqual([]);
    expect(byName()).toEqual([]);
    expect(repo.allocationsOf(keeper)).toHaveLength(4);
  });
});

describe('the worktree .env', () => {
  let repo: Repo;
  beforeAll(() => {
    repo = makeInstalledRepo({ base: 22900 });
  });

  /** A project that commits its .env, then runs `ports install` (which then leaves .env to git). */
  function repoWithTrackedEnv(content: string): Repo {
    const tracked = makeRepo({ base: 22900 });
    fs.writeFileSync(path.join(tracked.main, '.env'), content);
    git(['add', '.env'], tracked.main);
    git(['commit', '-q', '-m', 'env'], tracked.main);
    portsOk(['install'], tracked.main);
    expect(fs.readFileSync(path.join(tracked.main, '.git', 'info', 'exclude'), 'utf8')).not.toContain('/.env');
    return tracked;
  }

  /** A worktree added without the hook (PORTS=0), so its .env can be written before allocation. */
  function bareWorktree(name: string): string {
    const dir = repo.wt(name);
    addWorktree(repo, ['-b', name, dir], repo.main, { PORTS: '0' });
    expect(repo.allocationsOf(dir)).toEqual([]);
    return dir;
  }

  test('user lines (comments, CRLF, quotes) survive allocate and release byte for byte; only the block changes', () => {
    const dir = bareWorktree('user-env');
    const file = path.join(dir, '.env');
    const original = '# my settings\r\nFOO=bar\r\n\r\n# a comment with = and "quotes"\nBAZ="q u x"\r\nexport LAST=1\r\n';
    fs.writeFileSync(file, original);

    portsOk(['allocate'], dir);
    const after = fs.readFileSync(file, 'utf8');
    expect(after.startsWith(original)).toBe(true);
    const block = after.slice(original.length);
    expect(block).toMatch(/^# >>> ports .*>>>\r\n(?:[A-Z_]+=[\w.:-]+\r\n)+# <<< ports <<<\r\n$/);
    const parsed = parseDotenv(Buffer.from(after));
    expect(parsed).toMatchObject({ FOO: 'bar', BAZ: 'q u x', LAST: '1' });
    const held = portsOf(repo, dir);
    expect(parsed.PORT_WEB).toBe(String(held.web));
    expect(parsed.API_PORT).toBe(String(held.api));

    // Another run changes nothing; `ports env` rewrites the same bytes.
    portsOk(['allocate'], dir);
    portsOk(['env'], dir);
    expect(fs.readFileSync(file, 'utf8')).toBe(after);

    portsOk(['release'], dir);
    expect(fs.readFileSync(file, 'utf8')).toBe(original);
    expect(repo.allocationsOf(dir)).toEqual([]);
  });

  test('user lines placed after the block survive, and the block is replaced in place', () => {
    const dir = bareWorktree('user-env-around');
    const file = path.join(dir, '.env');
    fs.writeFileSync(file, 'TOP=1\n');
    portsOk(['allocate', 'web'], dir);
    fs.appendFileSync(file, '# added by hand after the block\nBOTTOM=2\n');
    const withWeb = fs.readFileSync(file, 'utf8');
    portsOk(['allocate'], dir); // the other three services join the block
    const full = fs.readFileSync(file, 'utf8');
    expect(full.startsWith('TOP=1\n# >>> ports')).toBe(true);
    expect(full.endsWith('# <<< ports <<<\n# added by hand after the block\nBOTTOM=2\n')).toBe(true);
    expect(full).not.toBe(withWeb);
    expectAgreement(repo, dir, ['TOP', 'BOTTOM']);
    portsOk(['release'], dir);
    expect(fs.readFileSync(file, 'utf8')).toBe('TOP=1\n# added by hand after the block\nBOTTOM=2\n');
  });

  // A tracked .env that came back with a final newline it did not have would stay modified,
  // and git would refuse `ports remove`.
  test('a user .env without a final newline is restored byte for byte after allocate and release', () => {
    const dir = bareWorktree('user-env-no-eol');
    const file = path.join(dir, '.env');
    const original = '# mine\r\nFOO=bar\r\nLAST=1';
    fs.writeFileSync(file, original);
    portsOk(['allocate'], dir);
    const after = fs.readFileSync(file, 'utf8');
    expect(after.startsWith(original)).toBe(true);
    expect(parseDotenv(Buffer.from(after))).toMatchObject({ FOO: 'bar', LAST: '1' });
    portsOk(['release'], dir);
    expect(fs.readFileSync(file, 'utf8')).toBe(original);
  });

  test('a tracked .env is left alone (ports still allocated), so git sees no change and ports remove removes the worktree', () => {
    const content = '# committed defaults\nOTHER=1\n';
    const tracked = repoWithTrackedEnv(content);
    const dir = tracked.wt('tracked-env');
    addWorktree(tracked, ['-b', 'tracked-env', dir]);
    expect(tracked.allocationsOf(dir)).toHaveLength(tracked.services.length);
    expect(fs.readFileSync(path.join(dir, '.env'), 'utf8')).toBe(content);
    expect(git(['status', '--porcelain'], dir)).toBe('');
    const r = ports(['remove', 'tracked-env'], tracked.main);
    expect(r.status).toBe(0);
    expect(fs.existsSync(dir)).toBe(false);
    expect(tracked.allocationsOf(dir)).toEqual([]);
  });

  test('a .env that already sets a managed variable outside the block: the hook warns, allocates nothing and leaves the file alone', () => {
    const content = 'PORT_WEB=3000\nOTHER=1\n';
    // An untracked .env of the user's (a tracked one is never written at all): in place before the first checkout.
    const dir = repo.wt('env-conflict');
    expect(gitRun(['worktree', 'add', '--no-checkout', '-b', 'env-conflict', dir], repo.main).status).toBe(0);
    fs.writeFileSync(path.join(dir, '.env'), content);
    const r = gitRun(['checkout', 'env-conflict'], dir);
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/^ports: warning: post-checkout hook: .*already sets PORT_WEB outside the ports block/m);
    expect(fs.readFileSync(path.join(dir, '.env'), 'utf8')).toBe(content);
    expect(repo.allocationsOf(dir)).toEqual([]);
  });

  test('a .env the tool created is deleted on release when nothing else remains', () => {
    const dir = repo.wt('tool-env');
    addWorktree(repo, ['-b', 'tool-env', dir]);
    expectAgreement(repo, dir);
    portsOk(['release', '--service', 'web'], dir);
    expect(repo.envOf(dir)!.PORT_WEB).toBeUndefined();
    expect(repo.envOf(dir)!.API_PORT).toBeDefined();
    portsOk(['release'], dir);
    expect(fs.existsSync(path.join(dir, '.env'))).toBe(false);
    expect(repo.allocationsOf(dir)).toEqual([]);
  });

  test('a .env the tool created but the user added to is kept on release, with the user lines only', () => {
    const dir = repo.wt('tool-env-plus');
    addWorktree(repo, ['-b', 'tool-env-plus', dir]);
    fs.appendFileSync(path.join(dir, '.env'), 'MINE=yes\n');
    portsOk(['release'], dir);
    expect(fs.readFileSync(path.join(dir, '.env'), 'utf8')).toBe('MINE=yes\n');
  });
});

describe('parallel git worktree add', () => {
  test('8 worktrees added at once through the hook get distinct ports, each .env matching the registry', async () => {
    const repo = makeInstalledRepo({ base: 23300 });
    const names = Array.from({ length: 8 }, (_, i) => `par-${i + 1}`);
    const runs = await Promise.all(names.map((name) => spawnRun('git', ['worktree', 'add', '-b', name, repo.wt(name)], repo.main)));
    const listed = new Set(repo.listed());
    const existing = names.filter((name) => listed.has(repo.wt(name)));
    // git itself sometimes fails a parallel add (a ref or config lock); judge the worktrees that exist.
    expect(existing.length).toBeGreaterThanOrEqual(2);
    names.forEach((name, i) => {
      if (runs[i]!.status === 0) expect(existing).toContain(name);
    });
    for (const name of existing) {
      const i = names.indexOf(name);
      if (runs[i]!.status === 0 || repo.allocationsOf(repo.wt(name)).length > 0) expectAgreement(repo, repo.wt(name));
    }
    const registry = repo.registry();
    expectDistinctPorts(registry);
    expect(registry.allocations.every((a) => existing.includes(a.worktree) || a.worktree_path === repo.main)).toBe(true);
    for (const s of repo.services) {
      const taken = registry.allocations.filter((a) => a.service === s.name).map((a) => a.port);
      expect(new Set(taken).size).toBe(taken.length);
    }
    // No lock or temp file left next to the registry.
    expect(fs.readdirSync(path.dirname(repo.registryFile))).toEqual(['ports.json']);
  });
});

describe('the hook never breaks git', () => {
  let repo: Repo;
  beforeAll(() => {
    repo = makeInstalledRepo({ base: 23700 });
    addWorktree(repo, ['-b', 'first', repo.wt('first')]);
  });

  test('a corrupt registry makes the hook warn with the ports prefix; git worktree add succeeds and the registry stays byte for byte', () => {
    const good = repo.registryText();
    const corrupt = good.slice(0, good.indexOf('"ranges":') + '"ranges": '.length);
    expect(corrupt).toMatch(/^\{\s*"ranges": $/);
    fs.writeFileSync(repo.registryFile, corrupt);
    try {
      const dir = repo.wt('on-corrupt');
      const r = gitRun(['worktree', 'add', '-b', 'on-corrupt', dir], repo.main);
      expect(r.status).toBe(0);
      expect(r.stderr).toMatch(/^ports: warning: post-checkout hook: .*corrupt/m);
      expect(r.stderr).toContain(repo.registryFile);
      expect(repo.listed()).toContain(dir);
      expect(fs.existsSync(path.join(dir, '.env'))).toBe(false);
      expect(fs.readFileSync(repo.registryFile, 'utf8')).toBe(corrupt);
      expect(fs.readdirSync(path.dirname(repo.registryFile))).toEqual(['ports.json']);

      // PORTS_STRICT=1: git 2.39 prints nothing of its own, but exits with the hook's status
      // (the worktree was created before the hook ran, so it stays).
      const strictDir = repo.wt('on-corrupt-strict');
      const strict = gitRun(['worktree', 'add', '-b', 'on-corrupt-strict', strictDir], repo.main, { PORTS_STRICT: '1' });
      expect(strict.status).not.toBe(0);
      expect(strict.status).toBe(5); // the registry error's exit code, passed through by the hook and git
      expect(strict.stderr).toMatch(/^ports: warning: post-checkout hook: .*corrupt/m);
      expect(strict.stderr).not.toContain('git continues');
      expect(repo.listed()).toContain(strictDir);
      expect(fs.readFileSync(repo.registryFile, 'utf8')).toBe(corrupt);
    } finally {
      fs.writeFileSync(repo.registryFile, good);
    }
  });

  test('PORTS=0 skips the hook: no allocation, no .env, no message', () => {
    const dir = repo.wt('skipped');
    const before = repo.registryText();
    const r = gitRun(['worktree', 'add', '-b', 'skipped', dir], repo.main, { PORTS: '0' });
    expect(r.status).toBe(0);
    expect(r.stderr).not.toMatch(/^ports/m);
    expect(repo.allocationsOf(dir)).toEqual([]);
    expect(fs.existsSync(path.join(dir, '.env'))).toBe(false);
    expect(repo.registryText()).toBe(before);
  });

  test('GIT_DIR and GIT_INDEX_FILE in the environment do not redirect a run aimed at another worktree', () => {
    const other = repo.wt('other');
    addWorktree(repo, ['-b', 'other', other], repo.main, { PORTS: '0' });
    const gitDir = path.join(repo.main, '.git');
    const pinned = { GIT_DIR: gitDir, GIT_INDEX_FILE: path.join(gitDir, 'index'), GIT_WORK_TREE: repo.main };

    const mainBefore = repo.allocationsOf(repo.main);
    const mainEnv = fs.readFileSync(path.join(repo.main, '.env'), 'utf8');
    const r = ports(['allocate', '--cwd', other], repo.main, pinned);
    expect(r.status).toBe(0);
    expectAgreement(repo, other);
    expect(repo.allocationsOf(repo.main)).toEqual(mainBefore);
    expect(fs.readFileSync(path.join(repo.main, '.env'), 'utf8')).toBe(mainEnv);

    // The same from inside the other worktree, as a hook of the main worktree would run it.
    const inside = ports(['env', '--print', '--json'], other, pinned);
    expect(inside.status).toBe(0);
    expect(JSON.parse(inside.stdout)).toEqual(repo.envOf(other));

    // sync and remove, too, judge the worktrees of the repository around --cwd.
    fs.rmSync(repo.wt('first'), { recursive: true, force: true });
    const synced = JSON.parse(ports(['sync', '--json', '--cwd', other], repo.main, pinned).stdout) as { released: { worktree_path: string }[] };
    expect(new Set(synced.released.map((a) => a.worktree_path))).toEqual(new Set([repo.wt('first')]));
    const removed = ports(['remove', other, '--cwd', repo.main], other, {
      GIT_DIR: path.join(gitDir, 'worktrees', 'other'),
      GIT_INDEX_FILE: path.join(gitDir, 'worktrees', 'other', 'index'),
      GIT_WORK_TREE: other,
    });
    expect(removed.status).toBe(0);
    expect(fs.existsSync(other)).toBe(false);
    expect(fs.existsSync(repo.main)).toBe(true);
    expect(git(['status', '--porcelain'], repo.main)).toBe('');
    expect(repo.allocationsOf(other)).toEqual([]);
  });
});
