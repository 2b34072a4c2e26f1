import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { listPublishedPorts, parseDockerPs, parseLabelsColumn, parsePortsColumn } from '../../src/io/docker';
import { TEST_IMAGE, TEST_LABEL, describeWithDocker, docker, httpGet, removeContainers, testEnv, waitFor } from '../helpers/docker';

describe('parsing docker ps output', () => {
  it.each<[string, ReturnType<typeof parsePortsColumn>]>([
    ['0.0.0.0:8080->80/tcp, :::8080->80/tcp', [
      { hostIp: '0.0.0.0', hostPort: 8080, containerPort: 80, protocol: 'tcp' },
      { hostIp: '::', hostPort: 8080, containerPort: 80, protocol: 'tcp' },
    ]],
    ['0.0.0.0:32769->80/tcp, [::]:32768->80/tcp', [
      { hostIp: '0.0.0.0', hostPort: 32769, containerPort: 80, protocol: 'tcp' },
      { hostIp: '::', hostPort: 32768, containerPort: 80, protocol: 'tcp' },
    ]],
    ['127.0.0.1:5353->53/udp', [{ hostIp: '127.0.0.1', hostPort: 5353, containerPort: 53, protocol: 'udp' }]],
    ['127.0.0.1:8000-8002->9000-9002/tcp', [
      { hostIp: '127.0.0.1', hostPort: 8000, containerPort: 9000, protocol: 'tcp' },
      { hostIp: '127.0.0.1', hostPort: 8001, containerPort: 9001, protocol: 'tcp' },
      { hostIp: '127.0.0.1', hostPort: 8002, containerPort: 9002, protocol: 'tcp' },
    ]],
    ['80/tcp, 443/tcp', []],
    ['', []],
  ])('Ports %p', (column, expected) => {
    expect(parsePortsColumn(column)).toEqual(expected);
  });

  it.each<[string, Record<string, string>]>([
    ['com.docker.compose.project=shop-feature-x,com.docker.compose.service=web', { 'com.docker.compose.project': 'shop-feature-x', 'com.docker.compose.service': 'web' }],
    ['com.docker.compose.config-hash=abc,desc=a,b=c,d,com.docker.compose.service=db', { 'com.docker.compose.config-hash': 'abc', desc: 'a', b: 'c,d', 'com.docker.compose.service': 'db' }],
    ['', {}],
  ])('Labels %p', (column, expected) => {
    expect(Object.fromEntries(parseLabelsColumn(column))).toEqual(expected);
  });

  it('skips lines that are not JSON and containers that publish nothing', () => {
    const row = { ID: 'abc', Names: 'web-1', Image: 'img', Ports: '127.0.0.1:8081->80/tcp', Labels: 'com.docker.compose.project=p' };
    const stdout = `garbage\n${JSON.stringify({ ...row, ID: 'x', Ports: '80/tcp' })}\n${JSON.stringify(row)}\n`;
    expect(parseDockerPs(stdout)).toEqual([
      { hostIp: '127.0.0.1', hostPort: 8081, containerPort: 80, protocol: 'tcp', containerId: 'abc', containerName: 'web-1', image: 'img', composeProject: 'p', composeService: null },
    ]);
  });
});

describe('listPublishedPorts without a usable engine', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ports-docker-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('returns null with a reason when there is no docker CLI', async () => {
    const reasons: string[] = [];
    await expect(listPublishedPorts({ dockerBin: path.join(dir, 'no-such-docker'), env: testEnv(), onSkip: (r) => reasons.push(r) })).resolves.toBeNull();
    expect(reasons).toEqual(['no docker CLI on PATH']);
  });

  it('returns null with the CLI\'s message when no engine answers', async () => {
    const reasons: string[] = [];
    const env = testEnv({ DOCKER_HOST: `unix://${path.join(dir, 'nothing-here.sock')}` });
    await expect(listPublishedPorts({ env, onSkip: (r) => reasons.push(r) })).resolves.toBeNull();
    expect(reasons).toEqual([expect.stringMatching(/^docker ps failed \(the engine is probably not running\): .*nothing-here\.sock/)]);
  });

  it('gives up after the timeout when docker hangs', async () => {
    const slow = path.join(dir, 'slow-docker');
    fs.writeFileSync(slow, '#!/bin/sh\nexec sleep 30\n', { mode: 0o755 });
    const reasons: string[] = [];
    const started = Date.now();
    await expect(listPublishedPorts({ dockerBin: slow, env: testEnv(), timeoutMs: 300, onSkip: (r) => reasons.push(r) })).resolves.toBeNull();
    expect(Date.now() - started).toBeLessThan(3000);
    expect(reasons).toEqual(['docker ps did not answer within 300 ms']);
  });
});

describeWithDocker('listPublishedPorts against a real engine', () => {
  const started: string[] = [];
  afterAll(() => removeContainers(started));

  function run(args: string[]): string {
    const id = docker(['run', '-d', '--init', '--label', TEST_LABEL, ...args]);
    started.push(id);
    return id;
  }

  it('attributes a published port to its container and Compose labels, and a host connect reaches it', async () => {
    const name = `ports-test-ps-${process.pid}`;
    const id = run([
      '--name', name,
      '--label', 'com.docker.compose.project=shop-feature-x',
      '--label', 'com.docker.compose.service=web',
      '-p', '127.0.0.1::80',
      '-p', '127.0.0.1::53/udp',
      TEST_IMAGE, 'httpd', '-f', '-p', '80', '-h', '/www',
    ]);
    const tcpPort = Number(docker(['port', name, '80/tcp']).split(':').pop());
    const udpPort = Number(docker(['port', name, '53/udp']).split(':').pop());

    const ports = (await listPublishedPorts({ env: testEnv() }))!.filter((p) => p.containerId === id);
    const common = { hostIp: '127.0.0.1', containerId: id, containerName: name, image: TEST_IMAGE, composeProject: 'shop-feature-x', composeService: 'web' };
    expect(ports).toEqual(
      expect.arrayContaining([
        { ...common, hostPort: tcpPort, containerPort: 80, protocol: 'tcp' },
        { ...common, hostPort: udpPort, containerPort: 53, protocol: 'udp' },
      ]),
    );
    expect(ports).toHaveLength(2);
    expect(id).toMatch(/^[0-9a-f]{64}$/);

    await expect(waitFor('httpd in the container', async () => (await httpGet(tcpPort)) || undefined)).resolves.toBe('ports-test');
  });

  it('lists a wildcard publish once per address family, and forgets a removed container', async () => {
    const id = run(['-p', '0:80', TEST_IMAGE, 'httpd', '-f', '-p', '80', '-h', '/www']);
    const mine = async () => (await listPublishedPorts({ env: testEnv() }))!.filter((p) => p.containerId === id);
    const ports = await mine();
    const ips = ports.map((p) => p.hostIp);
    expect(ips).toContain('0.0.0.0');
    expect(new Set(ips).size).toBe(ips.length);
    expect(ports.every((p) => p.containerPort === 80 && p.composeProject === null)).toBe(true);
    const v4 = ports.find((p) => p.hostIp === '0.0.0.0')!;
    await expect(waitFor('httpd via the wildcard publish', async () => (await httpGet(v4.hostPort)) || undefined)).resolves.toBe('ports-test');

    removeContainers([id]);
    expect(await mine()).toEqual([]);
  });

  it('answers well within its timeout', async () => {
    const started = Date.now();
    expect(await listPublishedPorts({ timeoutMs: 1500, env: testEnv() })).not.toBeNull();
    expect(Date.now() - started).toBeLessThan(1500);
  });
});
