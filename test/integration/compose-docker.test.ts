/**
 * Two worktrees' Compose stacks at once on a real engine: `ports exec -- docker-compose up -d`
 * in each, reached from the host on their allocated ports, named by `ports which`, and torn
 * down with `ports exec -- docker-compose down` + `ports release`.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse as dotenvParse } from 'dotenv';
import { runPorts, runPortsAsync } from '../helpers/cli';
import { TEST_IMAGE, TEST_LABEL, describeWithDocker, docker, httpGet, privateRange, testEnv, waitFor } from '../helpers/docker';
import { makeRepoWithFiles as makeRepo, type TestRepo } from '../helpers/repo';

const COMPOSE_FILE = `services:
  web:
    image: ${TEST_IMAGE}
    init: true
    command: httpd -f -p 80 -h /www
    labels:
      ${TEST_LABEL}: "1"
    ports:
      - "\${PORT_WEB}:80"
`;

function hasComposeV1(): boolean {
  return spawnSync('docker-compose', ['version'], { env: testEnv(), encoding: 'utf8' }).status === 0;
}

function composeDown(dir: string, project: string): void {
  spawnSync('docker-compose', ['-p', project, 'down', '--remove-orphans', '-t', '1'], { cwd: dir, env: testEnv({ PORT_WEB: '1' }), encoding: 'utf8' });
}

describeWithDocker('Compose stacks of two worktrees on a real engine', () => {
  let repo: TestRepo;
  const worktrees: Array<{ dir: string; port: number; project: string }> = [];

  beforeAll(async () => {
    if (!hasComposeV1()) throw new Error('docker-compose is not installed (.ci/docker-up.sh installs it)');
    const range = await privateRange(20);
    repo = makeRepo('shop', {
      'docker-compose.yml': COMPOSE_FILE,
      '.portsrc.json': JSON.stringify({
        ranges: { composeweb: { start: range.start, end: range.end, description: 'test web range' } },
        services: { composeweb: { env: 'PORT_WEB', description: 'web', compose: { service: 'web' } } },
      }),
      '.gitignore': 'design/\n.env\n',
    });
  });

  afterAll(() => {
    for (const wt of worktrees) composeDown(wt.dir, wt.project);
    repo?.cleanup();
  });

  it('brings both stacks up at once with `ports exec -- docker-compose up -d`, each on its own port', async () => {
    const names = ['feature-a', 'feature-b'];
    const dirs = names.map((name) => repo.addWorktree(name));
    const ups = await Promise.all(dirs.map((dir) => runPortsAsync(['exec', '--', 'docker-compose', 'up', '-d'], { cwd: dir })));
    dirs.forEach((dir, i) => {
      const env = fs.existsSync(path.join(dir, '.env')) ? dotenvParse(fs.readFileSync(path.join(dir, '.env'))) : {};
      if (env.COMPOSE_PROJECT_NAME) worktrees.push({ dir, port: Number(env.PORT_WEB), project: env.COMPOSE_PROJECT_NAME });
      expect({ status: ups[i]!.status, stderr: ups[i]!.stderr }).toEqual({ status: 0, stderr: expect.stringContaining(`allocating composeweb for ${names[i]}`) });
    });
    expect(worktrees).toHaveLength(2);
    const [a, b] = worktrees;
    expect(a!.port).not.toBe(b!.port);
    expect(a!.project).not.toBe(b!.project);

    for (const wt of worktrees) {
      await expect(waitFor(`the web container of ${wt.project}`, async () => (await httpGet(wt.port)) || undefined)).resolves.toBe('ports-test');
      const running = docker(['ps', '--filter', `label=com.docker.compose.project=${wt.project}`, '--format', '{{.Names}} {{.Ports}}']);
      expect(running).toContain(`:${wt.port}->80/tcp`);
    }
  });

  it('lets `docker-compose config` (no ports exec) resolve the worktree\'s .env', () => {
    for (const wt of worktrees) {
      const config = spawnSync('docker-compose', ['config'], { cwd: wt.dir, env: testEnv(), encoding: 'utf8' });
      expect(config.stderr).toBe('');
      expect(config.stdout).toContain(`published: ${wt.port}`);
      const project = spawnSync('docker-compose', ['ps', '--services'], { cwd: wt.dir, env: testEnv(), encoding: 'utf8' });
      expect(project.stdout.trim()).toBe('web');
    }
  });

  it('names the container holding a worktree\'s port in `ports which`', () => {
    const wt = worktrees[0]!;
    const which = runPorts(['which', String(wt.port), '--json'], { cwd: wt.dir });
    expect(which.status).toBe(0);
    const report = JSON.parse(which.stdout) as { allocations: Array<{ worktree: string }>; containers: Array<{ containerName: string; composeProject: string; composeService: string; containerPort: number }> };
    expect(report.allocations.map((a) => a.worktree)).toEqual([path.basename(wt.dir)]);
    expect(report.containers).toEqual(
      expect.arrayContaining([expect.objectContaining({ composeProject: wt.project, composeService: 'web', containerPort: 80, containerName: expect.stringContaining(wt.project) })]),
    );
    const text = runPorts(['which', String(wt.port)], { cwd: wt.dir });
    expect(text.stdout).toMatch(new RegExp(`container: ${wt.project}[_-]web[_-]1 `));
  });

  it('tears one stack down with `ports exec -- docker-compose down` + `ports release`, leaving the other running', async () => {
    const [a, b] = worktrees;
    const down = runPorts(['exec', '--', 'docker-compose', 'down', '-t', '1'], { cwd: a!.dir });
    expect(down.status).toBe(0);
    expect(docker(['ps', '-q', '--filter', `label=com.docker.compose.project=${a!.project}`])).toBe('');
    await expect(httpGet(a!.port)).rejects.toThrow();

    const release = runPorts(['release', '--json'], { cwd: a!.dir });
    expect(release.status).toBe(0);
    expect((JSON.parse(release.stdout) as Array<{ port: number }>).map((r) => r.port)).toEqual([a!.port]);
    expect(fs.existsSync(path.join(a!.dir, '.env'))).toBe(false);
    const status = JSON.parse(runPorts(['status', '--all', '--json'], { cwd: repo.main }).stdout) as Array<{ port: number }>;
    expect(status.map((s) => s.port)).toEqual([b!.port]);

    await expect(httpGet(b!.port)).resolves.toBe('ports-test');
  });
});
