/**
 * `ports health` judges who holds a worktree's port: a real listener started from another
 * worktree's folder is never the worktree's service (not healthy, no PID stored); the same
 * listener started from the worktree's own folder is.
 */
import * as fs from 'node:fs';
import { makeRepo, readRegistry, removeTempDirs, runPorts, type TempRepo } from '../helpers/cli';
import { privateRange } from '../helpers/docker';
import { startChildListener, type ChildListener } from '../helpers/servers';

let repo: TempRepo;
let feat: string;
let other: string;
let port: number;
const listeners: ChildListener[] = [];

beforeAll(async () => {
  const range = await privateRange(10);
  repo = makeRepo({ ranges: { web: { start: range.start, end: range.end } }, services: { web: { health: { type: 'tcp' } } } });
  feat = fs.realpathSync(repo.addWorktree('feat'));
  other = fs.realpathSync(repo.addWorktree('other'));
  expect(runPorts(['allocate'], { cwd: feat, env: repo.env }).code).toBe(0);
  port = readRegistry(repo.root).allocations.find((a) => a.worktree === 'feat')!.port;
});

afterAll(async () => {
  await Promise.all(listeners.map((l) => l.stop()));
  removeTempDirs();
});

function health() {
  const run = runPorts(['health', '--worktree', 'feat', '--json'], { cwd: repo.root, env: repo.env });
  const [row] = JSON.parse(run.stdout) as Array<{ health_status: string; process_id: number | null; check: { detail: string } }>;
  return { code: run.code, row: row!, stored: readRegistry(repo.root).allocations.find((a) => a.worktree === 'feat')! };
}

test('a listener started from another worktree\'s folder is not healthy and its PID is not stored', async () => {
  const intruder = await startChildListener({ port, cwd: other });
  try {
    const { code, row, stored } = health();
    expect(code).toBe(4);
    expect(row).toMatchObject({ health_status: 'unhealthy', process_id: null });
    expect(row.check.detail).toMatch(new RegExp(`^held by PID ${intruder.pid} \\(.+\\) of the worktree at ${other.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}, not by this worktree$`, 's'));
    expect(stored).toMatchObject({ health_status: 'unhealthy', process_id: null });
  } finally {
    await intruder.stop();
  }
});

test('the same listener started from the worktree\'s own folder is healthy, with its PID', async () => {
  const own = await startChildListener({ port, cwd: feat });
  listeners.push(own);
  const { code, row, stored } = health();
  expect(code).toBe(0);
  expect(row).toMatchObject({ health_status: 'healthy', process_id: own.pid });
  expect(stored).toMatchObject({ health_status: 'healthy', process_id: own.pid });
});
