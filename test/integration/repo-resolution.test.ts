import * as fs from 'node:fs';
import * as path from 'node:path';
import { resolveRepo, resolveRepoFromFiles, resolveRepoWithGit } from '../../src/io/git';
import { git, makeRepo, removeTempDirs } from '../helpers/cli';

afterAll(removeTempDirs);

describe('reading the repository from .git files', () => {
  it('answers exactly what git rev-parse answers, in every layout it covers', () => {
    const repo = makeRepo();
    const env = repo.env;
    const linked = repo.addWorktree('linked');
    const bare = path.join(repo.base, 'bare.git');
    git(['clone', '-q', '--bare', repo.root, bare], repo.base, env);
    const bareLinked = path.join(repo.base, 'bare-linked');
    git(['worktree', 'add', '-q', bareLinked], bare, env);
    const separate = path.join(repo.base, 'separate');
    git(['init', '-q', '--separate-git-dir', path.join(repo.base, 'separate.git'), separate], repo.base, env);
    const sub = path.join(repo.root, 'vendor', 'sub');
    git(['-c', 'protocol.file.allow=always', 'submodule', 'add', '-q', repo.root, 'vendor/sub'], repo.root, env);
    for (const dir of [linked, bareLinked, repo.root]) fs.mkdirSync(path.join(dir, 'a', 'b'), { recursive: true });
    const covered = [repo.root, path.join(repo.root, 'a', 'b'), linked, path.join(linked, 'a', 'b'), bareLinked, path.join(bareLinked, 'a', 'b'), separate];
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
