/**
 * The main worktree is a worktree like the others: `ports install` allocates its declared
 * services first, the hook keeps them (and gives them back after they were lost), and
 * `allocate` and `doctor` agree with that.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { cleanupTemps, expectAgreement, expectDistinctPorts, git, makeRepo, ports, portsOk } from '../helpers/repo';

afterAll(() => cleanupTemps());

describe('the main worktree', () => {
  test('`ports install` allocates its declared services and writes its .env; linked worktrees get others', () => {
    const repo = makeRepo({ base: 26100 });
    const installed = ports(['install'], repo.main);
    expect(installed.status).toBe(0);
    const main = expectAgreement(repo, repo.main);
    expect(installed.stderr).toContain(`main: web ${main.web}`);

    const feature = repo.wt('feature');
    git(['worktree', 'add', '-q', feature], repo.main);
    const linked = expectAgreement(repo, feature);
    for (const s of repo.services) expect(linked[s.name]).not.toBe(main[s.name]);
    expectDistinctPorts(repo.registry());

    // Running install again changes nothing; `allocate` in the main worktree names the same ports.
    const before = repo.registryText();
    portsOk(['install'], repo.main);
    portsOk(['allocate'], repo.main);
    expect(repo.registryText()).toBe(before);
    const doctor = ports(['doctor', '--json'], repo.main);
    expect(doctor.status).toBe(0);
    expect(JSON.parse(doctor.stdout).findings.map((f: { kind: string }) => f.kind)).not.toContain('services_unallocated');
  });

  test('a branch switch in the main worktree keeps its ports, and gives them back once released', () => {
    const repo = makeRepo({ base: 26500 });
    portsOk(['install'], repo.main);
    const held = expectAgreement(repo, repo.main);
    git(['checkout', '-q', '-b', 'side'], repo.main);
    expect(expectAgreement(repo, repo.main)).toEqual(held);

    portsOk(['release'], repo.main);
    expect(repo.allocationsOf(repo.main)).toEqual([]);
    expect(fs.existsSync(path.join(repo.main, '.env'))).toBe(false);
    git(['checkout', '-q', 'main'], repo.main);
    expect(expectAgreement(repo, repo.main)).toEqual(held);
  });

  test('install with a .env the tool must not write into still installs the hook, and says why the main worktree has no ports', () => {
    const repo = makeRepo({ base: 26900 });
    fs.writeFileSync(path.join(repo.main, '.env'), 'PORT_WEB=3000\n');
    const r = ports(['install'], repo.main);
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/the hook is installed, but the main worktree holds no ports: .*already sets PORT_WEB/);
    expect(fs.readFileSync(path.join(repo.main, '.git', 'hooks', 'post-checkout'), 'utf8')).toContain('# >>> ports >>>');
    expect(fs.readFileSync(path.join(repo.main, '.env'), 'utf8')).toBe('PORT_WEB=3000\n');
  });
});
