import * as fs from 'node:fs';
import * as path from 'node:path';
import { cleanEnv, privateRanges, removeTempDirs, runPorts, tempDir } from '../helpers/cli';
import { makeConfigRepo as makeRepo } from '../helpers/repo';

afterAll(removeTempDirs);

// bin/ports.js keeps a V8 code cache per command in <NODE_COMPILE_CACHE or tmp>/worktree-ports-code-<uid>.
function cacheFolder(root: string): string {
  return path.join(root, `worktree-ports-code-${process.getuid?.() ?? 'user'}`);
}

describe('the code cache of bin/ports.js', () => {
  const repo = makeRepo({ ranges: privateRanges(23600), services: { web: true } });
  beforeAll(() => expect(runPorts(['allocate', '--quiet'], { cwd: repo.root, env: repo.env }).code).toBe(0));

  function status(cacheRoot: string) {
    return runPorts(['status', '--json'], { cwd: repo.root, env: { ...repo.env, NODE_COMPILE_CACHE: cacheRoot } });
  }

  it('is made by the first successful run of a command and gives the same output afterwards', () => {
    const root = tempDir();
    const first = status(root);
    expect(first.code).toBe(0);
    const files = fs.readdirSync(cacheFolder(root));
    expect(files.filter((f) => f.endsWith('-status'))).toHaveLength(1);
    expect(fs.statSync(cacheFolder(root)).mode & 0o077).toBe(0);
    const second = status(root);
    expect({ code: second.code, stdout: second.stdout, stderr: second.stderr }).toEqual({ code: first.code, stdout: first.stdout, stderr: first.stderr });
  });

  it('runs correctly from a damaged cache file and replaces it', () => {
    const root = tempDir();
    const good = status(root);
    const [file] = fs.readdirSync(cacheFolder(root)).filter((f) => f.endsWith('-status'));
    const target = path.join(cacheFolder(root), file as string);
    fs.writeFileSync(target, 'not a code cache');
    const run = status(root);
    expect({ code: run.code, stdout: run.stdout }).toEqual({ code: 0, stdout: good.stdout });
    expect(fs.statSync(target).size).toBeGreaterThan(1000);
  });

  it('makes no cache for a run that fails (a mistyped command)', () => {
    const root = tempDir();
    const run = runPorts(['statsu'], { cwd: repo.root, env: cleanEnv({ NODE_COMPILE_CACHE: root, PORTS_STATE_DIR: tempDir() }) });
    expect(run.code).toBe(1);
    expect(fs.readdirSync(cacheFolder(root))).toEqual([]);
  });

  it("keeps another bundle's cache made this week, and removes one older than a week", () => {
    const root = tempDir();
    fs.mkdirSync(cacheFolder(root), { recursive: true, mode: 0o700 });
    const other = (age: string) => path.join(cacheFolder(root), `${process.version}-${process.arch}-1234-5678-${age}-status`);
    fs.writeFileSync(other('recent'), 'code of another installed version');
    fs.writeFileSync(other('old'), 'code of a version uninstalled long ago');
    const eightDaysAgo = new Date(Date.now() - 8 * 24 * 3600 * 1000);
    fs.utimesSync(other('old'), eightDaysAgo, eightDaysAgo);
    expect(status(root).code).toBe(0);
    const files = fs.readdirSync(cacheFolder(root));
    expect(files.filter((f) => f.endsWith('-status') && !f.includes('-1234-5678-'))).toHaveLength(1);
    expect(files).toContain(path.basename(other('recent')));
    expect(files).not.toContain(path.basename(other('old')));
  });

  it('keeps at most the newest 64 caches of other bundles', () => {
    const root = tempDir();
    fs.mkdirSync(cacheFolder(root), { recursive: true, mode: 0o700 });
    const names = Array.from({ length: 70 }, (_, i) => `${process.version}-${process.arch}-1-${1000 + i}-1-status`);
    names.forEach((name, i) => {
      const file = path.join(cacheFolder(root), name);
      fs.writeFileSync(file, 'code of another build');
      const when = new Date(Date.now() - (70 - i) * 60_000); // the last one is the newest
      fs.utimesSync(file, when, when);
    });
    expect(status(root).code).toBe(0);
    const left = fs.readdirSync(cacheFolder(root));
    expect(names.filter((name) => left.includes(name))).toEqual(names.slice(6));
  });

  it('is not used from a folder others can write to', () => {
    const root = tempDir();
    fs.mkdirSync(cacheFolder(root), { mode: 0o777 });
    fs.chmodSync(cacheFolder(root), 0o777);
    expect(status(root).code).toBe(0);
    expect(fs.readdirSync(cacheFolder(root))).toEqual([]);
  });
});
