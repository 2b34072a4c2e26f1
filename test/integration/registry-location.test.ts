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
