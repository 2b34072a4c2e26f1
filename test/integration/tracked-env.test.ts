/**
 * A tracked env file is never modified (issue 15): Vite and Next projects commit a `.env` of
 * defaults, and one worktree's ports in it would be committed, merged and carried to the others.
 * The worktree still gets its ports (`ports exec` passes them); the hook, `allocate`, `init` and
 * `doctor` say what to do instead. Real repository, real `git worktree add`, the built CLI.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { cleanupTemps, git, gitRun, makeRepo, ports, portsOk, type Repo } from '../helpers/repo';

afterAll(() => cleanupTemps());

const COMMITTED = 'VITE_API_URL=http://localhost:3000\n';
let repo: Repo;
let dir: string;
let added: { status: number | null; stderr: string };

beforeAll(() => {
  repo = makeRepo({ base: 27100 });
  fs.writeFileSync(path.join(repo.main, '.env'), COMMITTED);
  git(['add', '.env'], repo.main);
  git(['commit', '-q', '-m', 'defaults'], repo.main);
  portsOk(['install'], repo.main);
  dir = repo.wt('feature');
  added = gitRun(['worktree', 'add', '-b', 'feature', dir], repo.main);
});

test('git worktree add leaves the tracked .env untouched and the worktree clean, says once what to do, and still allocates', () => {
  expect(added.status).toBe(0);
  expect(fs.readFileSync(path.join(dir, '.env'), 'utf8')).toBe(COMMITTED);
  expect(git(['status', '--porcelain'], dir)).toBe('');
  expect(added.stderr.split('.env is tracked by git').length - 1).toBe(1);
  expect(added.stderr).toContain('"envFile": ".env.local"');
  expect(added.stderr).toContain('ports exec');
  expect(repo.allocationsOf(dir).map((a) => a.service).sort()).toEqual(repo.services.map((s) => s.name).sort());
});

test('ports exec passes the worktree\'s ports', () => {
  const web = repo.allocationsOf(dir).find((a) => a.service === 'web')!.port;
  expect(portsOk(['exec', '--', 'sh', '-c', 'echo $PORT_WEB'], dir).trim()).toBe(String(web));
});

test('ports allocate says it once too, and leaves the file alone', () => {
  const r = ports(['allocate'], dir);
  expect(r.status).toBe(0);
  expect(r.stderr.split('.env is tracked by git').length - 1).toBe(1);
  expect(fs.readFileSync(path.join(dir, '.env'), 'utf8')).toBe(COMMITTED);
});

test('ports release leaves it alone as well', () => {
  const other = repo.wt('released');
  expect(gitRun(['worktree', 'add', '-b', 'released', other], repo.main).status).toBe(0);
  expect(ports(['release'], other).status).toBe(0);
  expect(fs.readFileSync(path.join(other, '.env'), 'utf8')).toBe(COMMITTED);
  expect(gitRun(['worktree', 'remove', other], repo.main).status).toBe(0);
});

test('doctor reports it and init proposes .env.local', () => {
  const doctor = ports(['doctor', '--json'], dir);
  expect(doctor.stdout).toContain('env_file_tracked');
  const init = ports(['init'], repo.main);
  expect(init.status).toBe(0);
  expect(init.stderr).toContain('"envFile": ".env.local"');
});

test('with envFile .env.local the ports go there, and git status stays clean', () => {
  const config = JSON.parse(fs.readFileSync(path.join(repo.main, '.portsrc.json'), 'utf8')) as Record<string, unknown>;
  fs.writeFileSync(path.join(repo.main, '.portsrc.json'), JSON.stringify({ ...config, envFile: '.env.local' }, null, 2) + '\n');
  git(['commit', '-q', '-am', 'env in .env.local'], repo.main);
  portsOk(['install'], repo.main); // excludes .env.local
  const local = repo.wt('local');
  const r = gitRun(['worktree', 'add', '-b', 'local', local], repo.main);
  expect(r.status).toBe(0);
  expect(r.stderr).not.toContain('tracked by git');
  expect(fs.readFileSync(path.join(local, '.env.local'), 'utf8')).toMatch(/^PORT_WEB=\d+$/m);
  expect(git(['status', '--porcelain'], local)).toBe('');
});
