import * as fs from 'node:fs';
import * as path from 'node:path';
import { git, privateRanges, removeTempDirs, runPorts, tempDir, cleanEnv } from '../helpers/cli';
import { makeConfigRepo as makeRepo } from '../helpers/repo';

afterAll(removeTempDirs);

const ranges = privateRanges(21300);

describe('registry location', () => {
  it('is design/worktrees/ports.json under the main worktree, from the main worktree, a linked worktree and a subfolder', () => {
    const repo = makeRepo({ ranges, services: { web: true } });
    const linked = repo.addWorktree('feature');
    fs.mkdirSync(path.join(linked, 'deep', 'er'), { recursive: true });
    const expected = path.join(repo.root, 'design', 'worktrees', 'ports.json');
    for (const cwd of [repo.root, linked, path.join(linked, 'deep', 'er')]) {
      const result = runPorts(['init'], { cwd, env: repo.env });
      expect(result.code).toBe(0);
      expect(result.stdout.trim()).toBe(expected);
    }
    expect(fs.existsSync(path.join(linked, 'design'))).toBe(false);
    expect(fs.readFileSync(path.join(repo.root, '.git', 'info', 'exclude'), 'utf8')).toContain('/design/worktrees/ports.json');
    expect(git(['status', '--porcelain'], repo.root, repo.env)).toBe('');
  });

  it('lives inside the common dir of a bare repository and is shared by its worktrees', () => {
    const repo = makeRepo({ ranges });
    const bare = path.join(repo.base, 'bare.git');
    git(['clone', '-q', '--bare', repo.root, bare], repo.base, repo.env);
    const wt1 = path.join(repo.base, 'b1');
    const wt2 = path.join(repo.base, 'b2');
    git(['worktree', 'add', '-q', wt1], bare, repo.env);
    git(['worktree', 'add', '-q', '--detach', wt2], bare, repo.env);
    const expected = path.join(bare, 'design', 'worktrees', 'ports.json');
    const a = runPorts(['allocate', 'web', '--quiet'], { cwd: wt1, env: repo.env });
    const b = runPorts(['allocate', 'web', '--quiet'], { cwd: wt2, env: repo.env });
    expect([a.code, b.code]).toEqual([0, 0]);
    expect(a.stdout).not.toBe(b.stdout);
    expect(runPorts(['init'], { cwd: bare, env: repo.env }).stdout.trim()).toBe(expected);
    const registry = JSON.parse(fs.readFileSync(expected, 'utf8'));
    expect(registry.allocations.map((x: { worktree_path: string }) => x.worktree_path).sort()).toEqual([wt1, wt2]);
  });

  it('is one file with a separate git dir (`--separate-git-dir`): the main and the linked worktrees share it, in the git dir', () => {
    const repo = makeRepo({ ranges, services: { web: true } });
    const gitDir = path.join(repo.base, 'separate.git');
    const main = path.join(repo.base, 'separate');
    git(['clone', '-q', '--separate-git-dir', gitDir, repo.root, main], repo.base, repo.env);
    const linked = path.join(repo.base, 'separate-linked');
    git(['worktree', 'add', '-q', linked], main, repo.env);
    const expected = path.join(gitDir, 'design', 'worktrees', 'ports.json');
    const fromMain = runPorts(['allocate', 'web', '--json'], { cwd: main, env: repo.env });
    const fromLinked = runPorts(['allocate', 'web', '--json'], { cwd: linked, env: repo.env });
    expect([fromMain.code, fromLinked.code]).toEqual([0, 0]);
    expect(JSON.parse(fromMain.stdout)[0].port).not.toBe(JSON.parse(fromLinked.stdout)[0].port);
    for (const cwd of [main, linked]) expect(runPorts(['init'], { cwd, env: repo.env }).stdout.trim()).toBe(expected);
    expect(JSON.parse(fs.readFileSync(expected, 'utf8')).allocations).toHaveLength(2);
    expect(fs.existsSync(path.join(main, 'design'))).toBe(false);
  });

  it('is one file when worktrees are reached or added through symlinked paths', () => {
    const repo = makeRepo({ ranges, services: { web: true } });
    const links = path.join(repo.base, 'links');
    fs.mkdirSync(links);
    fs.symlinkSync(repo.root, path.join(links, 'main-link'));
    fs.symlinkSync(repo.base, path.join(links, 'base-link'));
    const viaLink = path.join(links, 'base-link', 'added-via-link');
    git(['worktree', 'add', '-q', viaLink], path.join(links, 'main-link'), repo.env);
    const expected = path.join(repo.root, 'design', 'worktrees', 'ports.json');
    const seen = [path.join(links, 'main-link'), viaLink, path.join(repo.base, 'added-via-link')].map((cwd) => runPorts(['allocate', 'web', '--json'], { cwd, env: repo.env }));
    expect(seen.map((r) => r.code)).toEqual([0, 0, 0]);
    // The same worktree reached by its link and its real path holds one port; the main worktree another.
    const portsSeen = seen.map((r) => JSON.parse(r.stdout)[0].port as number);
    expect(portsSeen[1]).toBe(portsSeen[2]);
    expect(portsSeen[0]).not.toBe(portsSeen[1]);
    expect(JSON.parse(fs.readFileSync(expected, 'utf8')).allocations).toHaveLength(2);
  });

  it('takes the `registry` key from the main worktree’s config only: a branch setting another path warns and shares the main registry', () => {
    const repo = makeRepo({ ranges, services: { web: true } });
    const linked = repo.addWorktree('forked-config');
    const config = JSON.parse(fs.readFileSync(path.join(linked, '.portsrc.json'), 'utf8'));
    fs.writeFileSync(path.join(linked, '.portsrc.json'), JSON.stringify({ ...config, registry: 'elsewhere/ports.json' }));
    git(['commit', '-q', '-am', 'a branch of its own registry'], linked, repo.env);
    const expected = path.join(repo.root, 'design', 'worktrees', 'ports.json');
    const r = runPorts(['init'], { cwd: linked, env: repo.env });
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(expected);
    expect(r.stderr).toMatch(/sets "registry": "elsewhere\/ports\.json", the main worktree's does not; the main worktree's config decides/);
    expect(fs.existsSync(path.join(repo.root, 'elsewhere'))).toBe(false);
    expect(fs.existsSync(path.join(linked, 'elsewhere'))).toBe(false);
    // Set in the main worktree's config, the key applies to every worktree.
    fs.writeFileSync(path.join(repo.root, '.portsrc.json'), JSON.stringify({ ...config, registry: 'elsewhere/ports.json' }));
    const moved = path.join(repo.root, 'elsewhere', 'ports.json');
    expect(runPorts(['init'], { cwd: linked, env: repo.env }).stdout.trim()).toBe(moved);
    expect(runPorts(['init'], { cwd: repo.root, env: repo.env }).stdout.trim()).toBe(moved);
  });

  it('follows --registry, then PORTS_REGISTRY, then the config key', () => {
    const repo = makeRepo({ ranges, registry: 'custom/place.json' });
    const flag = path.join(tempDir(), 'flag.json');
    const envFile = path.join(tempDir(), 'env.json');
    expect(runPorts(['init', '--registry', flag], { cwd: repo.root, env: { ...repo.env, PORTS_REGISTRY: envFile } }).stdout.trim()).toBe(flag);
    expect(runPorts(['init'], { cwd: repo.root, env: { ...repo.env, PORTS_REGISTRY: envFile } }).stdout.trim()).toBe(envFile);
    expect(runPorts(['init'], { cwd: repo.root, env: repo.env }).stdout.trim()).toBe(path.join(repo.root, 'custom', 'place.json'));
  });

  it('ignores GIT_DIR and GIT_INDEX_FILE exported by a hook that runs ports for another repository', () => {
    const one = makeRepo({ ranges });
    const two = makeRepo({ ranges });
    const env = { ...one.env, GIT_DIR: path.join(one.root, '.git'), GIT_INDEX_FILE: path.join(one.root, '.git', 'index') };
    const result = runPorts(['init', '--cwd', two.root], { cwd: one.root, env });
    expect(result.stdout.trim()).toBe(path.join(two.root, 'design', 'worktrees', 'ports.json'));
  });

  it('says what to do outside a repository (exit 2)', () => {
    const result = runPorts(['status'], { cwd: tempDir(), env: cleanEnv() });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/not inside a git repository/);
    expect(result.stderr).toMatch(/--registry FILE/);
  });
});
