import * as fs from 'node:fs';
import * as path from 'node:path';
import * as YAML from 'yaml';
import { findContainerNames, interpolateCompose, lineDiff, projectNameFromFolder, type InterpolateTarget } from '../../src/core/compose-interpolate';
import { ConfigError } from '../../src/errors';

const FIXTURES = path.join(__dirname, '..', 'fixtures', 'compose');
const read = (name: string) => ({ file: name, text: fs.readFileSync(path.join(FIXTURES, name), 'utf8') });
const options = { projectDefault: () => 'demo' };

interface Case {
  files: string[];
  targets: InterpolateTarget[];
  /** Source text replaced, in file order: [file, before, after] with enough context to be unique. */
  replaced: Array<[string, string, string]>;
  /** Published values after the run, as a YAML reader sees them: service → port entries' host side. */
  published: Record<string, Record<string, unknown[]>>;
  /** Notes that must be given (substrings). */
  notes?: string[];
}

const t = (name: string, env: string, composeService = name, containerPort?: number): InterpolateTarget => ({ name, env, composeService, containerPort });

const CASES: Record<string, Case> = {
  'web, api, database and cache; quoted, plain, single-quoted with host IP, flow list': {
    files: ['shop-web-api-db.yml'],
    targets: [t('web', 'PORT_WEB'), t('api', 'PORT_API'), t('database', 'PORT_DATABASE', 'db'), t('redis', 'PORT_REDIS', 'cache')],
    replaced: [
      ['shop-web-api-db.yml', '"8080:80"', '"${PORT_WEB:-8080}:80"'],
      ['shop-web-api-db.yml', '- 3000:3000', '- "${PORT_API:-3000}:3000"'],
      ['shop-web-api-db.yml', "'127.0.0.1:5432:5432'", "'127.0.0.1:${PORT_DATABASE:-5432}:5432'"],
      ['shop-web-api-db.yml', '["6379:6379"]', '["${PORT_REDIS:-6379}:6379"]'],
    ],
    published: {
      'shop-web-api-db.yml': {
        web: ['${PORT_WEB:-8080}:80'],
        api: ['${PORT_API:-3000}:3000', '9229'],
        db: ['127.0.0.1:${PORT_DATABASE:-5432}:5432'],
        cache: ['${PORT_REDIS:-6379}:6379'],
      },
    },
  },
  'a mapping behind a merge key, in an anchor only one service uses, is rewritten at the anchor': {
    files: ['anchors-merge.yml'],
    targets: [t('api', 'PORT_API'), t('flower', 'PORT_FLOWER')],
    replaced: [
      ['anchors-merge.yml', '"8000:8000"', '"${PORT_API:-8000}:8000"'],
      ['anchors-merge.yml', '"5555:5555"', '"${PORT_FLOWER:-5555}:5555"'],
    ],
    published: { 'anchors-merge.yml': { 'x-api-base': ['${PORT_API:-8000}:8000'], flower: ['${PORT_FLOWER:-5555}:5555'] } },
  },
  'long syntax: published as number, string and in a flow map, host_ip kept': {
    files: ['long-syntax.yml'],
    targets: [t('gateway', 'PORT_GATEWAY', 'gateway', 80), t('minio', 'PORT_MINIO', 'minio', 9000), t('minio-console', 'PORT_MINIO_CONSOLE', 'minio', 9001)],
    replaced: [
      ['long-syntax.yml', 'published: 8081', 'published: "${PORT_GATEWAY:-8081}"'],
      ['long-syntax.yml', 'published: 9000', 'published: "${PORT_MINIO:-9000}"'],
      ['long-syntax.yml', "published: '9001'", "published: '${PORT_MINIO_CONSOLE:-9001}'"],
    ],
    published: {
      'long-syntax.yml': {
        gateway: [{ target: 80, published: '${PORT_GATEWAY:-8081}', protocol: 'tcp', mode: 'host' }, { target: 8080, published: '8090' }],
        minio: [{ target: 9000, published: '${PORT_MINIO:-9000}', host_ip: '127.0.0.1' }, { target: 9001, host_ip: '127.0.0.1', published: '${PORT_MINIO_CONSOLE:-9001}' }],
      },
    },
    notes: ['gateway also publishes container port 8080 on the fixed host port 8090'],
  },
  'UDP, and TCP+UDP on one container port read the same variable': {
    files: ['dns-udp.yml'],
    targets: [t('dns', 'PORT_DNS'), t('syslog', 'PORT_SYSLOG')],
    replaced: [
      ['dns-udp.yml', '"1053:53/udp"', '"${PORT_DNS:-1053}:53/udp"'],
      ['dns-udp.yml', '"1053:53/tcp"', '"${PORT_DNS:-1053}:53/tcp"'],
      ['dns-udp.yml', '5514:514/udp', '"${PORT_SYSLOG:-5514}:514/udp"'],
    ],
    published: { 'dns-udp.yml': { dns: ['${PORT_DNS:-1053}:53/udp', '${PORT_DNS:-1053}:53/tcp'], syslog: ['${PORT_SYSLOG:-5514}:514/udp'] } },
  },
  'container_name becomes per-project, quoted or not': {
    files: ['monitoring-container-names.yml'],
    targets: [t('grafana', 'PORT_GRAFANA'), t('prometheus', 'PORT_PROMETHEUS')],
    replaced: [
      ['monitoring-container-names.yml', 'container_name: grafana', 'container_name: "${COMPOSE_PROJECT_NAME:-demo}-grafana"'],
      ['monitoring-container-names.yml', '"3001:3000"', '"${PORT_GRAFANA:-3001}:3000"'],
      ['monitoring-container-names.yml', 'container_name: "prometheus"', 'container_name: "${COMPOSE_PROJECT_NAME:-demo}-prometheus"'],
      ['monitoring-container-names.yml', '"9090:9090"', '"${PORT_PROMETHEUS:-9090}:9090"'],
      ['monitoring-container-names.yml', 'container_name: node-exporter', 'container_name: "${COMPOSE_PROJECT_NAME:-demo}-node-exporter"'],
    ],
    published: { 'monitoring-container-names.yml': { grafana: ['${PORT_GRAFANA:-3001}:3000'], prometheus: ['${PORT_PROMETHEUS:-9090}:9090'] } },
  },
  'host IPs (IPv4 and bracketed IPv6) are kept; two ports services on one Compose service': {
    files: ['proxy-host-ips.yml'],
    targets: [t('proxy-http', 'PORT_PROXY_HTTP', 'proxy', 80), t('proxy-https', 'PORT_PROXY_HTTPS', 'proxy', 443)],
    replaced: [
      ['proxy-host-ips.yml', '"0.0.0.0:8088:80"', '"0.0.0.0:${PORT_PROXY_HTTP:-8088}:80"'],
      ['proxy-host-ips.yml', '"127.0.0.1:8443:443"', '"127.0.0.1:${PORT_PROXY_HTTPS:-8443}:443"'],
      ['proxy-host-ips.yml', '"[::1]:8444:443/udp"', '"[::1]:${PORT_PROXY_HTTPS:-8444}:443/udp"'],
    ],
    published: { 'proxy-host-ips.yml': { proxy: ['0.0.0.0:${PORT_PROXY_HTTP:-8088}:80', '127.0.0.1:${PORT_PROXY_HTTPS:-8443}:443', '[::1]:${PORT_PROXY_HTTPS:-8444}:443/udp'] } },
  },
  'a service with several container ports and no compose.containerPort is reported, not guessed': {
    files: ['proxy-host-ips.yml'],
    targets: [t('proxy', 'PORT_PROXY')],
    replaced: [],
    published: { 'proxy-host-ips.yml': { proxy: ['0.0.0.0:8088:80', '127.0.0.1:8443:443', '[::1]:8444:443/udp'] } },
    notes: ['proxy: not rewritten: service "proxy" publishes several container ports (80, 443); set `compose.containerPort`'],
  },
  'two files: the ports live in the second one': {
    files: ['two-files.base.yml', 'two-files.dev.yml'],
    targets: [t('web', 'PORT_WEB'), t('api', 'PORT_API')],
    replaced: [
      ['two-files.dev.yml', '"4200:4200"', '"${PORT_WEB:-4200}:4200"'],
      ['two-files.dev.yml', 'published: 4000', 'published: "${PORT_API:-4000}"'],
    ],
    published: { 'two-files.dev.yml': { web: ['${PORT_WEB:-4200}:4200'], api: [{ target: 4000, published: '${PORT_API:-4000}' }] } },
  },
  'port ranges are left alone with a message': {
    files: ['ranges.yml'],
    targets: [t('ftp', 'PORT_FTP', 'ftp', 21), t('rtp', 'PORT_RTP')],
    replaced: [['ranges.yml', '"2121:21"', '"${PORT_FTP:-2121}:21"']],
    published: { 'ranges.yml': { ftp: ['${PORT_FTP:-2121}:21', '21000-21010:21000-21010'], rtp: ['10000-10020:10000-10020/udp'] } },
    notes: ['rtp publishes the port range 10000-10020; left as it is', 'ftp also publishes container port 21000-21010 on the fixed host port range 21000-21010'],
  },
  'flow-style YAML with comments and single quotes': {
    files: ['flow-style.yml'],
    targets: [t('frontend', 'PORT_FRONTEND', 'frontend', 5173), t('mailhog', 'PORT_MAILHOG', 'mailhog', 8025)],
    replaced: [
      ['flow-style.yml', "'5173:5173'", "'${PORT_FRONTEND:-5173}:5173'"],
      ['flow-style.yml', '"8025:8025"', '"${PORT_MAILHOG:-8025}:8025"'],
    ],
    published: { 'flow-style.yml': { frontend: ['${PORT_FRONTEND:-5173}:5173', '24678:24678'], mailhog: ['${PORT_MAILHOG:-8025}:8025', '1025:1025'] } },
  },
  'an anchor two services share is reported, not rewritten': {
    files: ['shared-anchor.yml'],
    targets: [t('admin', 'PORT_ADMIN'), t('shop', 'PORT_SHOP')],
    replaced: [],
    published: { 'shared-anchor.yml': { 'x-node-service': ['3000:3000'] } },
    notes: ['comes from an anchor that services admin, shop share; left as it is'],
  },
  'a mapping that already reads its variable is kept': {
    files: ['already-interpolated.yml'],
    targets: [t('web', 'PORT_WEB'), t('database', 'PORT_DATABASE', 'db')],
    replaced: [['already-interpolated.yml', '"127.0.0.1:5432:5432"', '"127.0.0.1:${PORT_DATABASE:-5432}:5432"']],
    published: { 'already-interpolated.yml': { web: ['${PORT_WEB:-8080}:80'], db: ['127.0.0.1:${PORT_DATABASE:-5432}:5432'] } },
  },
  'CRLF line ends stay': {
    files: ['crlf.yml'],
    targets: [t('web', 'PORT_WEB')],
    replaced: [['crlf.yml', '"8082:80"\r\n', '"${PORT_WEB:-8082}:80"\r\n']],
    published: { 'crlf.yml': { web: ['${PORT_WEB:-8082}:80'] } },
  },
  'merge keys, long syntax and container_name together (the end-to-end stack)': {
    files: ['busybox-stack.yml'],
    targets: [t('web', 'PORT_WEB'), t('admin', 'PORT_ADMIN')],
    replaced: [
      ['busybox-stack.yml', '"18080:80"', '"${PORT_WEB:-18080}:80"'],
      ['busybox-stack.yml', 'container_name: admin', 'container_name: "${COMPOSE_PROJECT_NAME:-demo}-admin"'],
      ['busybox-stack.yml', 'published: 18081', 'published: "${PORT_ADMIN:-18081}"'],
    ],
    published: { 'busybox-stack.yml': { web: ['${PORT_WEB:-18080}:80'], admin: [{ target: 80, published: '${PORT_ADMIN:-18081}' }] } },
  },
};

/** Every byte outside the expected replacements is the same: walk both texts replacement by replacement. */
function expectOnlyReplaced(before: string, after: string, replaced: ReadonlyArray<[string, string]>): void {
  let i = 0;
  let j = 0;
  for (const [from, to] of replaced) {
    const at = before.indexOf(from, i);
    const atNew = after.indexOf(to, j);
    expect({ from, at }).toEqual({ from, at: expect.any(Number) });
    expect(at).toBeGreaterThanOrEqual(0);
    expect(atNew).toBeGreaterThanOrEqual(0);
    expect(after.slice(j, atNew)).toBe(before.slice(i, at));
    i = at + from.length;
    j = atNew + to.length;
  }
  expect(after.slice(j)).toBe(before.slice(i));
}

function portsOf(text: string, service: string): unknown[] {
  const doc = YAML.parse(text, { merge: true }) as Record<string, Record<string, { ports?: unknown[] }>>;
  const node = service.startsWith('x-') ? (doc[service] as { ports?: unknown[] }) : doc.services![service]!;
  return node.ports ?? [];
}

describe('interpolateCompose on the fixture corpus', () => {
  it.each(Object.entries(CASES))('%s', (_name, c) => {
    const inputs = c.files.map(read);
    const result = interpolateCompose(inputs, c.targets, options);
    for (const input of inputs) {
      const out = result.files.find((f) => f.file === input.file)!;
      expect(out.original).toBe(input.text);
      expectOnlyReplaced(input.text, out.text, c.replaced.filter(([file]) => file === input.file).map(([, from, to]) => [from, to]));
      expect(YAML.parseDocument(out.text).errors).toEqual([]);
      for (const [service, ports] of Object.entries(c.published[input.file] ?? {})) expect(portsOf(out.text, service)).toEqual(ports);
    }
    expect(result.files.flatMap((f) => f.edits)).toHaveLength(c.replaced.length);
    for (const note of c.notes ?? []) expect(result.notes.join('\n')).toContain(note);

    // Second run: nothing left to change.
    const again = interpolateCompose(result.files.map((f) => ({ file: f.file, text: f.text })), c.targets, options);
    expect(again.files.flatMap((f) => f.edits)).toEqual([]);
    expect(again.files.map((f) => f.text)).toEqual(result.files.map((f) => f.text));
    expect(again.already).toBe(c.replaced.filter(([, , to]) => to.includes('${PORT_')).length + result.already);
  });

  it('records each edit with its file, line, service and the source text before and after', () => {
    const result = interpolateCompose([read('dns-udp.yml')], [t('dns', 'PORT_DNS')], options);
    expect(result.files[0]!.edits).toEqual([
      { file: 'dns-udp.yml', line: 7, composeService: 'dns', kind: 'port', before: '"1053:53/udp"', after: '"${PORT_DNS:-1053}:53/udp"' },
      { file: 'dns-udp.yml', line: 8, composeService: 'dns', kind: 'port', before: '"1053:53/tcp"', after: '"${PORT_DNS:-1053}:53/tcp"' },
    ]);
  });

  it('stops on a file that is not YAML, naming file, line and reason', () => {
    const broken = { file: 'broken.yml', text: 'services:\n  web:\n    ports:\n      - "8080:80\n  db: [\n' };
    expect(() => interpolateCompose([broken], [t('web', 'PORT_WEB')], options)).toThrow(ConfigError);
    expect(() => interpolateCompose([broken], [t('web', 'PORT_WEB')], options)).toThrow(/^broken\.yml:\d+:\d+: not valid YAML \(.+\); the file is left as it is\.$/);
  });

  it('reports a service the files do not publish', () => {
    const result = interpolateCompose([read('two-files.base.yml')], [t('web', 'PORT_WEB')], options);
    expect(result.notes).toEqual(['web: not rewritten: no Compose service "web" publishes a port in these files.']);
  });
});

describe('findContainerNames', () => {
  it('lists fixed container names, not per-project ones', () => {
    expect(findContainerNames([read('monitoring-container-names.yml')]).map((c) => [c.composeService, c.name, c.line])).toEqual([
      ['grafana', 'grafana', 5],
      ['prometheus', 'prometheus', 13],
      ['node-exporter', 'node-exporter', 21],
    ]);
    const done = interpolateCompose([read('monitoring-container-names.yml')], [], options).files[0]!;
    expect(findContainerNames([{ file: done.file, text: done.text }])).toEqual([]);
  });
});

describe('lineDiff', () => {
  it('shows changed lines with two lines of context, in unified hunks', () => {
    const before = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'].join('\n');
    const after = ['a', 'b', 'C', 'd', 'e', 'f', 'g', 'h', 'i', 'J'].join('\n');
    expect(lineDiff('x.yml', before, after)).toBe(['--- x.yml', '+++ x.yml', '@@ -1,5 +1,5 @@', ' a', ' b', '-c', '+C', ' d', ' e', '@@ -8,3 +8,3 @@', ' h', ' i', '-j', '+J'].join('\n'));
    expect(lineDiff('x.yml', before, before)).toBe('');
  });
});

describe('projectNameFromFolder', () => {
  it.each([
    ['Shop', 'shop'],
    ['my.app', 'myapp'],
    ['_x-1', 'x-1'],
    ['...', 'default'],
  ])('%s → %s', (folder, name) => expect(projectNameFromFolder(folder)).toBe(name));
});
