/**
 * `ports remove` keeps a worktree's ports reserved until git has removed it: when git refuses
 * (untracked files) while another `git worktree add` runs, the refused worktree keeps its ports
 * and its .env block, and the new worktree gets other ports.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { cleanupTemps, expectAgreement, expectDistinctPorts, git, makeInstalledRepo, ports, tempDir, testEnv } from '../helpers/repo';

afterAll(() => cleanupTemps());

/** A `git` first on PATH that runs `git worktree add INTRUDER` (hook and all) just before any `git worktree remove`. */
function gitThatAddsBeforeRemove(main: string, intruder: string): string {
  const realGit = spawnSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).stdout.trim();
  const bin = tempDir('ports-git-wrapper-');
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  fs.writeFileSync(
    path.join(bin, 'git'),
    `#!/bin/sh
case " $* " in
  *" worktree remove "*) ${q(realGit)} -C ${q(main)} worktree add -q ${q(intruder)} >/dev/null 2>&1 ;;
esac
exec ${q(realGit)} "$@"
`,
    { mode: 0o755 },
  );
  return bin;
}

test('git refuses the removal while another worktree is added: no port moves, the block stays, the message is true', () => {
  const repo = makeInstalledRepo({ base: 28100 });
  const dir = repo.wt('refused');
  git(['worktree', 'add', '-q', dir], repo.main);
  const held = expectAgreement(repo, dir);
  const envBefore = fs.readFileSync(path.join(dir, '.env'), 'utf8');
  fs.writeFileSync(path.join(dir, 'notes.txt'), 'untracked work\n');

  const intruder = repo.wt('intruder');
  const bin = gitThatAddsBeforeRemove(repo.main, intruder);
  // The test PATH (testEnv) too: the intruder's hook finds the tool there, as after a global install.
  const r = ports(['remove', 'refused'], repo.main, { PATH: `${bin}:${testEnv().PATH ?? ''}` });

  expect(r.status).toBe(4);
  expect(repo.listed()).toEqual(expect.arrayContaining([dir, intruder]));
  expect(expectAgreement(repo, dir)).toEqual(held);
  expect(fs.readFileSync(path.join(dir, '.env'), 'utf8')).toBe(envBefore);
  const added = expectAgreement(repo, intruder);
  for (const service of Object.keys(held)) expect(added[service]).not.toBe(held[service]);
  expectDistinctPorts(repo.registry());
  expect(r.stderr).toMatch(/git could not remove .*untracked/);
  expect(r.stderr).toContain('Its ports and its .env block are kept.');
});

test('a removal git accepts releases the ports only after the worktree is gone', () => {
  const repo = makeInstalledRepo({ base: 28500 });
  const dir = repo.wt('accepted');
  git(['worktree', 'add', '-q', dir], repo.main);
  const held = expectAgreement(repo, dir);
  const r = ports(['remove', 'accepted', '--json'], repo.main);
  expect(r.status).toBe(0);
  expect(fs.existsSync(dir)).toBe(false);
  expect((JSON.parse(r.stdout) as { port: number }[]).map((a) => a.port).sort()).toEqual(Object.values(held).sort());
  expect(repo.allocationsOf(dir)).toEqual([]);
});
