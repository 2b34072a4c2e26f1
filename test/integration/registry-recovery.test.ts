/**
 * A lost or corrupt registry is rebuilt from what the live worktrees' .env blocks hold before
 * anything is allocated, keeping every port they hold — even ports of ranges the lost file had
 * customised.
 */
import * as fs from 'node:fs';
import type { Registry } from '../../src/core/registry-schema';
import { cleanupTemps, expectAgreement, expectDistinctPorts, git, gitRun, makeInstalledRepo, ports, portsOk } from '../helpers/repo';

afterAll(() => cleanupTemps());

const held = (registry: Registry) => registry.allocations.map((a) => `${a.worktree_path} ${a.service} ${a.port}`).sort();

test('`git clean -fdx` in the main worktree, then `git worktree add`: the registry comes back first, the new worktree gets other ports', () => {
  const repo = makeInstalledRepo({ base: 29100 });
  const live = ['one', 'two'].map((name) => {
    git(['worktree', 'add', '-q', repo.wt(name)], repo.main);
    return repo.wt(name);
  });
  const before = live.map((dir) => expectAgreement(repo, dir));
  git(['clean', '-q', '-fdx'], repo.main);
  expect(fs.existsSync(repo.registryFile)).toBe(false);

  const added = repo.wt('three');
  const r = gitRun(['worktree', 'add', '-q', added], repo.main);
  expect(r.status).toBe(0);
  expect(r.stderr).toMatch(/the port registry was missing while the \.env blocks of 2 worktrees name ports .*rebuilt it from them, keeping every port/);
  live.forEach((dir, i) => expect(expectAgreement(repo, dir)).toEqual(before[i]));
  const fresh = expectAgreement(repo, added);
  for (const service of Object.keys(fresh)) for (const old of before) expect(fresh[service]).not.toBe(old[service]);
  expectDistinctPorts(repo.registry());

  // The main worktree (its .env went with the registry) gets ports again that no live worktree holds.
  portsOk(['allocate'], repo.main);
  expectAgreement(repo, repo.main);
  expectDistinctPorts(repo.registry());
});

test('doctor --fix rebuilds a corrupt registry whose ranges were customised in the file, keeping every port and saying how the ranges changed', () => {
  const repo = makeInstalledRepo({ base: 29500 });
  portsOk(['allocate'], repo.main);
  // The ranges of the file, not of the config: web moved to 29900-29919.
  const registry = repo.registry();
  registry.ranges.web = { start: 29900, end: 29919, description: 'moved by hand' };
  registry.allocations = registry.allocations.filter((a) => a.service !== 'web');
  fs.writeFileSync(repo.registryFile, JSON.stringify(registry, null, 2) + '\n');
  portsOk(['allocate'], repo.main);
  const feature = repo.wt('feature');
  git(['worktree', 'add', '-q', feature], repo.main);
  const before = held(repo.registry());
  expect(repo.registry().allocations.filter((a) => a.service === 'web').every((a) => a.port >= 29900 && a.port <= 29919)).toBe(true);

  fs.writeFileSync(repo.registryFile, repo.registryText().replace(/("schema_version": \d+)/, '$1,'));
  const fixed = ports(['doctor', '--fix', '--json'], repo.main);
  const report = JSON.parse(fixed.stdout) as { fixed: string[] };
  expect(report.fixed.join('\n')).not.toMatch(/not a port of|allocated .* for|gave .* port/);
  expect(held(repo.registry())).toEqual(before);
  expect(report.fixed.join('\n')).toMatch(/the web range is now 299\d\d-299\d\d \(was 29500-29599\)/);
  const web = repo.registry().ranges.web!;
  for (const a of repo.registry().allocations.filter((x) => x.service === 'web')) expect(a.port >= web.start && a.port <= web.end).toBe(true);
  expect(fixed.status).toBe(0);
});
