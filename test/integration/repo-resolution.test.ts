import * as fs from 'node:fs';
import * as path from 'node:path';
import { listWorktrees, listWorktreesFromFiles, registryBase, resolveRepo, resolveRepoFromFiles, resolveRepoWithGit, worktreeFolderNames } from '../../src/io/git';
import { git, readRegistry, removeTempDirs, runPorts } from '../helpers/cli';
import { makeConfigRepo as makeRepo } from '../helpers/repo';

afterAll(removeTempDirs);

/** One repository in every layout: main + linked, a bare clone + linked, a separate git dir + linked, a submodule. */
function everyLayout() {
  const repo = makeRepo();
  const env = repo.env;
  const linked = repo.addWorktree('linked');
  const bare = path.join(repo.base, 'bare.git');
  git(['clone', '-q', '--bare', repo.root, bare], repo.base, env);
  const bareLinked = path.join(repo.base, 'bare-linked');
  git(['worktree', 'add', '-q', bareLinked], bare, env);
  const separateGitDir = path.join(repo.base, 'separate.git');
  const separate = path.join(repo.base, 'separate');
  git(['clone', '-q', '--separate-git-dir', separateGitDir, repo.root, separate], repo.base, env);
  const separateLinked = path.join(repo.base, 'separate-linked');
  git(['worktree', 'add', '-q', separateLinked], separate, env);
  const sub = path.join(repo.root, 'vendor', 'sub');
  git(['-c', 'protocol.file.allow=always', 'submodule', 'add', '-q', repo.root, 'vendor/sub'], repo.root, env);
  return { repo, env, linked, bare, bareLinked, separateGitDir, separate, separateLinked, sub };
}

describe('reading the repository from .git files', () => {
  it('answers exactly what git rev-parse answers, in every layout it covers', () => {
    const { repo, env, linked, bare, bareLinked, separate, separateLinked, sub } = everyLayout();
    for (const dir of [linked, bareLinked, repo.root]) fs.mkdirSync(path.join(dir, 'a', 'b'), { recursive: true });
    const covered = [repo.root, path.join(repo.root, 'a', 'b'), linked, path.join(linked, 'a', 'b'), bareLinked, path.join(bareLinked, 'a', 'b'), separate, separateLinked];
    for (const cwd of covered) {
      expect({ cwd, info: resolveRepoFromFiles(cwd, env) }).toEqual({ cwd, info: resolveRepoWithGit(cwd, env) });
    }
    // A submodule's git dir sets core.worktree: not covered, git answers.
    expect(resolveRepoFromFiles(sub, env)).toBeNull();
    for (const cwd of [...covered, sub, bare, path.join(repo.root, '.git')]) {
      expect({ cwd, info: resolveRepo(cwd, env) }).toEqual({ cwd, info: resolveRepoWithGit(cwd, env) });
    }
  });

  it('leaves to git what it does not cover: a bare repository, a git dir, ceiling directories', () => {
    const repo = makeRepo();
    const bare = path.join(repo.base, 'plain.git');
    git(['clone', '-q', '--bare', repo.root, bare], repo.base, repo.env);
    expect(resolveRepoFromFiles(bare, repo.env)).toBeNull();
    expect(resolveRepoFromFiles(path.join(repo.root, '.git', 'hooks'), repo.env)).toBeNull();
    expect(resolveRepoFromFiles(repo.root, { ...repo.env, GIT_CEILING_DIRECTORIES: repo.base })).toBeNull();
    expect(resolveRepoWithGit(bare, repo.env)).toMatchObject({ bare: true, worktreeRoot: null });
  });
});

describe('the folder the registry lives under', () => {
  it('is one folder per repository, whichever of its worktrees asks, in every layout', () => {
    const { repo, env, linked, bare, bareLinked, separateGitDir, separate, separateLinked, sub } = everyLayout();
    const layouts: [string, string[]][] = [
      [repo.root, [repo.root, linked]],
      [bare, [bare, bareLinked]],
      [separateGitDir, [separate, separateLinked]],
      [sub, [sub]],
    ];
    for (const [expected, cwds] of layouts) {
      for (const cwd of cwds) expect({ cwd, base: registryBase(resolveRepo(cwd, env).commonDir) }).toEqual({ cwd, base: expected });
    }
  });
});

describe('worktree folder names from the files (to spare `git worktree list` for a plain --worktree name)', () => {
  it('holds every name git lists, through symlinks, in a normal and a bare layout, and no other name', () => {
    const repo = makeRepo();
    const env = repo.env;
    repo.addWorktree('feature-a');
    const real = repo.addWorktree('real-name');
    // A worktree added through a symlinked path: git records the path it was given.
    fs.mkdirSync(path.join(repo.base, 'links'));
    fs.symlinkSync(path.join(repo.base, 'real-target'), path.join(repo.base, 'links', 'alias'));
    fs.mkdirSync(path.join(repo.base, 'real-target'));
    git(['worktree', 'add', '-q', '--detach', path.join(repo.base, 'links', 'alias', 'via-link'), 'HEAD'], repo.root, env);
    // A worktree whose folder was deleted (prunable): still named, git is asked then.
    const gone = repo.addWorktree('deleted-one');
    fs.rmSync(gone, { recursive: true, force: true });
    const bare = path.join(repo.base, 'bare.git');
    git(['clone', '-q', '--bare', repo.root, bare], repo.base, env);
    git(['worktree', 'add', '-q', path.join(repo.base, 'from-bare')], bare, env);

    for (const cwd of [repo.root, real, bare]) {
      const names = worktreeFolderNames(resolveRepo(cwd, env));
      expect(names).not.toBeNull();
      for (const w of listWorktrees(cwd, env).filter((w) => !w.bare && !w.prunable)) {
        const name = path.basename(fs.realpathSync(w.path));
        expect({ cwd, name, has: names!.has(name) }).toEqual({ cwd, name, has: true });
      }
      expect(names!.has('review-GH-42')).toBe(false);
    }
    expect(worktreeFolderNames(resolveRepo(repo.root, env))!.has('deleted-one')).toBe(true);
  });

  it('allocate --worktree links a worktree of that folder name, and runs no git for any other name', () => {
    const repo = makeRepo({ ranges: { svc: { start: 21950, end: 21999, description: 'test' } } });
    const linked = repo.addWorktree('linked-wt');
    // A git that fails loudly when run: the plain name must not need it.
    const fakeBin = path.join(repo.base, 'fake-bin');
    fs.mkdirSync(fakeBin);
    fs.writeFileSync(path.join(fakeBin, 'git'), '#!/bin/sh\necho "git was run: $*" >&2\nexit 97\n', { mode: 0o755 });
    const noGit = { ...repo.env, PATH: `${fakeBin}:${repo.env.PATH ?? ''}` };
    const byName = runPorts(['allocate', 'svc', '--worktree', 'review-GH-42', '--json', '--verbose'], { cwd: repo.root, env: noGit });
    expect(byName.stderr).not.toContain('git was run');
    expect(byName.code).toBe(0);
    expect(JSON.parse(byName.stdout)[0].worktree_path).toBeUndefined();

    const linkedRun = runPorts(['allocate', 'svc', '--worktree', 'linked-wt', '--json'], { cwd: repo.root, env: repo.env });
    expect(linkedRun.code).toBe(0);
    expect(JSON.parse(linkedRun.stdout)[0]).toMatchObject({ worktree: 'linked-wt', worktree_path: fs.realpathSync(linked) });
    expect(readRegistry(repo.root).allocations.map((a) => a.worktree).sort()).toEqual(['linked-wt', 'review-GH-42']);
  });
});

describe('the worktree list from the files (to spare reconcile its `git worktree list`)', () => {
  /** What git says, in the fields the files give. */
  const gitSays = (cwd: string, env: NodeJS.ProcessEnv) => listWorktrees(cwd, env).map(({ path: p, bare, locked, prunable }) => ({ path: p, bare, locked, prunable }));

  it('says what `git worktree list --porcelain` says, in its order: main, locked, moved, deleted, symlinked, broken admin folders', () => {
    const repo = makeRepo();
    const env = repo.env;
    const plain = repo.addWorktree('plain');
    repo.addWorktree('locked');
    git(['worktree', 'lock', '--reason', 'on a USB disk', path.join(repo.base, 'locked')], repo.root, env);
    const lockedGone = repo.addWorktree('locked-gone');
    git(['worktree', 'lock', lockedGone], repo.root, env);
    fs.rmSync(lockedGone, { recursive: true, force: true });
    const deleted = repo.addWorktree('deleted');
    fs.rmSync(deleted, { recursive: true, force: true });
    const dotGitGone = repo.addWorktree('dot-git-gone');
    fs.rmSync(path.join(dotGitGone, '.git'));
    repo.addWorktree('Upper-Case'); // git sorts by bytes: before every lower-case name
    repo.addWorktree('to-move');
    git(['worktree', 'move', path.join(repo.base, 'to-move'), path.join(repo.base, 'moved')], repo.root, env);
    fs.mkdirSync(path.join(repo.base, 'real-target'));
    fs.symlinkSync(path.join(repo.base, 'real-target'), path.join(repo.base, 'alias'));
    git(['worktree', 'add', '-q', '--detach', path.join(repo.base, 'alias', 'via-link'), 'HEAD'], repo.root, env);
    // Admin folders git skips: no gitdir file, an empty one, and a stray file.
    const admin = path.join(repo.root, '.git', 'worktrees');
    fs.mkdirSync(path.join(admin, 'no-gitdir'));
    fs.mkdirSync(path.join(admin, 'empty-gitdir'));
    fs.writeFileSync(path.join(admin, 'empty-gitdir', 'gitdir'), '');
    fs.writeFileSync(path.join(admin, 'stray-file'), 'x');

    const expected = gitSays(repo.root, env);
    expect(expected.filter((w) => w.locked)).toHaveLength(2);
    expect(expected.filter((w) => w.prunable)).toHaveLength(2);
    for (const cwd of [repo.root, plain, path.join(repo.base, 'moved')]) {
      expect({ cwd, list: listWorktreesFromFiles(resolveRepo(cwd, env)) }).toEqual({ cwd, list: gitSays(cwd, env) });
    }
    expect(listWorktreesFromFiles(resolveRepo(repo.root, env))).toEqual(expected);
  });

  it('has only the main worktree before any is added', () => {
    const repo = makeRepo();
    expect(listWorktreesFromFiles(resolveRepo(repo.root, repo.env))).toEqual(gitSays(repo.root, repo.env));
  });

  it('leaves to git the layouts it does not cover: bare, separate git dir, submodule, a relative or padded gitdir', () => {
    const { repo, env, linked, bare, bareLinked, separate, separateLinked, sub } = everyLayout();
    for (const cwd of [bare, bareLinked, separate, separateLinked, sub]) expect({ cwd, list: listWorktreesFromFiles(resolveRepo(cwd, env)) }).toEqual({ cwd, list: null });
    const gitdir = path.join(repo.root, '.git', 'worktrees', 'linked', 'gitdir');
    fs.writeFileSync(gitdir, '../../../../linked/.git\n'); // as worktree.useRelativePaths writes it
    expect(listWorktreesFromFiles(resolveRepo(repo.root, env))).toBeNull();
    fs.writeFileSync(gitdir, `${path.join(linked, '.git')} \n`);
    expect(listWorktreesFromFiles(resolveRepo(repo.root, env))).toBeNull();
  });

  it('lets ports reclaim a removed worktree and keep a locked one without running git', () => {
    const repo = makeRepo({ ranges: { svc: { start: 21900, end: 21949, description: 'test' } } });
    const keep = repo.addWorktree('keep');
    const locked = repo.addWorktree('locked');
    const removed = repo.addWorktree('removed');
    for (const cwd of [keep, locked, removed]) expect(runPorts(['allocate', 'svc', '--quiet'], { cwd, env: repo.env }).code).toBe(0);
    git(['worktree', 'lock', locked], repo.root, repo.env);
    fs.rmSync(locked, { recursive: true, force: true });
    git(['worktree', 'remove', '--force', removed], repo.root, repo.env);
    const fakeBin = path.join(repo.base, 'fake-bin');
    fs.mkdirSync(fakeBin);
    fs.writeFileSync(path.join(fakeBin, 'git'), '#!/bin/sh\necho "git was run: $*" >&2\nexit 97\n', { mode: 0o755 });
    const run = runPorts(['sync', '--verbose'], { cwd: keep, env: { ...repo.env, PATH: `${fakeBin}:${repo.env.PATH ?? ''}` } });
    expect(run.stderr).not.toContain('git was run');
    expect(run.code).toBe(0);
    expect(readRegistry(repo.root).allocations.map((a) => a.worktree).sort()).toEqual(['keep', 'locked']);
  });
});
