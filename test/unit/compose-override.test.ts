import * as fs from 'node:fs';
import * as path from 'node:path';
import * as YAML from 'yaml';
import {
  OVERRIDE_HEADER,
  formatPortMapping,
  inferContainerPort,
  isGeneratedOverride,
  parseComposeServices,
  parseShortPort,
  planComposeOverride,
  renderComposeOverride,
  type ComposeServiceInfo,
  type DeclaredComposeService,
} from '../../src/core/compose-override';
import { ConfigError } from '../../src/errors';

/** A reader that knows Compose's tag, as Compose ≥ 2.24 does: the tag is kept on the node. */
const OVERRIDE_TAG: YAML.CollectionTag = { tag: '!override', collection: 'seq', resolve: (seq) => seq as never };

function readBack(text: string) {
  const doc = YAML.parseDocument(text, { customTags: [OVERRIDE_TAG] });
  expect(doc.errors).toEqual([]);
  expect(doc.warnings).toEqual([]);
  return doc;
}

function services(yaml: string): Map<string, ComposeServiceInfo> {
  return parseComposeServices([{ file: 'compose.yaml', text: yaml }]);
}

describe('parseShortPort', () => {
  it.each<[string | number, ReturnType<typeof parseShortPort>]>([
    ['8080:80', { hostIp: null, published: '8080', target: '80', protocol: 'tcp' }],
    ['80', { hostIp: null, published: null, target: '80', protocol: 'tcp' }],
    [80, { hostIp: null, published: null, target: '80', protocol: 'tcp' }],
    ['127.0.0.1:8080:80/tcp', { hostIp: '127.0.0.1', published: '8080', target: '80', protocol: 'tcp' }],
    ['127.0.0.1::80', { hostIp: '127.0.0.1', published: null, target: '80', protocol: 'tcp' }],
    ['[::1]:8080:80', { hostIp: '::1', published: '8080', target: '80', protocol: 'tcp' }],
    ['::1:8080:80', { hostIp: '::1', published: '8080', target: '80', protocol: 'tcp' }],
    ['5353:53/UDP', { hostIp: null, published: '5353', target: '53', protocol: 'udp' }],
    ['8000-8010:8000-8010', { hostIp: null, published: '8000-8010', target: '8000-8010', protocol: 'tcp' }],
    ['${PORT_WEB}:80', { hostIp: null, published: '${PORT_WEB}', target: '80', protocol: 'tcp' }],
    ['${PORT_WEB:-8080}:80', { hostIp: null, published: '${PORT_WEB:-8080}', target: '80', protocol: 'tcp' }],
    ['${HOST_IP:-127.0.0.1}:${PORT_WEB:-8080}:80/udp', { hostIp: '${HOST_IP:-127.0.0.1}', published: '${PORT_WEB:-8080}', target: '80', protocol: 'udp' }],
    ['', null],
    ['8080:', null],
  ])('%p', (spec, expected) => {
    expect(parseShortPort(spec)).toEqual(expected);
  });
});

describe('parseComposeServices', () => {
  it('reads short and long syntax, and services without ports', () => {
    const parsed = services(`
services:
  web:
    image: x
    ports: ["8080:80"]
  db:
    ports:
      - target: 5432
        published: "5433"
        host_ip: 127.0.0.1
        protocol: tcp
      - target: 9187
  worker:
    image: y
`);
    expect([...parsed.keys()]).toEqual(['web', 'db', 'worker']);
    expect(parsed.get('db')!.ports.map((p) => ({ hostIp: p.hostIp, published: p.published, target: p.target, protocol: p.protocol }))).toEqual([
      { hostIp: '127.0.0.1', published: '5433', target: '5432', protocol: 'tcp' },
      { hostIp: null, published: null, target: '9187', protocol: 'tcp' },
    ]);
    expect(parsed.get('worker')!.ports).toEqual([]);
  });

  it.each([
    ['appends a later file\'s ports, as Compose does', 'services:\n  web:\n    ports: ["9090:90"]\n', ['80', '90']],
    ['replaces them when the later list is tagged !override', 'services:\n  web:\n    ports: !override ["9090:90"]\n', ['90']],
    ['clears them when tagged !reset', 'services:\n  web:\n    ports: !reset []\n', []],
  ])('merging files: %s', (_label, second, targets) => {
    const merged = parseComposeServices([
      { file: 'a.yml', text: 'services:\n  web:\n    ports: ["8080:80"]\n' },
      { file: 'b.yml', text: second },
    ]);
    expect(merged.get('web')!.ports.map((p) => p.target)).toEqual(targets);
  });

  it.each([
    ['invalid YAML', 'services: [\n', /compose\.yaml is not valid YAML/],
    ['a port entry Compose would reject', 'services:\n  web:\n    ports: [[1]]\n', /services\.web\.ports has an entry/],
  ])('throws a ConfigError naming the file for %s', (_label, text, message) => {
    expect(() => services(text)).toThrow(ConfigError);
    expect(() => services(text)).toThrow(message);
  });

  it('tolerates a file with no services', () => {
    expect(services('version: "3"\n').size).toBe(0);
  });
});

describe('inferContainerPort', () => {
  it.each<[string, string, ReturnType<typeof inferContainerPort>]>([
    ['one mapping', '["8080:80"]', { ok: true, containerPort: 80, protocol: 'tcp', protocols: ['tcp'], hostIp: null }],
    ['the same target on two host IPs', '["0.0.0.0:8080:80", "[::]:8080:80"]', { ok: true, containerPort: 80, protocol: 'tcp', protocols: ['tcp'], hostIp: null }],
    ['a loopback-only mapping keeps its IP', '["127.0.0.1:8080:80"]', { ok: true, containerPort: 80, protocol: 'tcp', protocols: ['tcp'], hostIp: '127.0.0.1' }],
    ['a udp mapping', '["5353:53/udp"]', { ok: true, containerPort: 53, protocol: 'udp', protocols: ['udp'], hostIp: null }],
    ['the one on a fixed host port, beside ports Compose picks', '["8080:80", "9229", "127.0.0.1::9230"]', { ok: true, containerPort: 80, protocol: 'tcp', protocols: ['tcp'], hostIp: null }],
    ['one port on a Compose-picked host port', '["80"]', { ok: true, containerPort: 80, protocol: 'tcp', protocols: ['tcp'], hostIp: null }],
    ['TCP and UDP on one container port: one port, both protocols', '["1053:53/udp", "1053:53"]', { ok: true, containerPort: 53, protocol: 'tcp', protocols: ['tcp', 'udp'], hostIp: null }],
    ['two on Compose-picked host ports', '["80", "443"]', { ok: false, reason: 'service "web" publishes 2 container ports (80, 443)' }],
    ['two container ports', '["8080:80", "8443:443"]', { ok: false, reason: 'service "web" publishes 2 container ports (80, 443)' }],
    ['no ports', '[]', { ok: false, reason: 'service "web" publishes no port' }],
    ['a range', '["8000-8001:8000-8001"]', { ok: false, reason: 'service "web" publishes 8000-8001, not a single container port' }],
    ['an interpolated container port', '["8080:${INNER}"]', { ok: false, reason: 'service "web" publishes ${INNER}, not a single container port' }],
  ])('%s', (_label, ports, expected) => {
    expect(inferContainerPort(services(`services:\n  web:\n    ports: ${ports}\n`).get('web')!)).toEqual(expected);
  });
});

describe('planComposeOverride', () => {
  const base = services(`
services:
  web:
    ports: ["127.0.0.1:8080:80", "9229", "7000:7000/udp"]
  db:
    ports:
      - target: 5432
        published: 5432
  api:
    ports: ["3000:3000", "3001:3001"]
`);

  it('maps declared services to Compose services, inferring or taking the container port', () => {
    const declared: DeclaredComposeService[] = [
      { name: 'web', hostPort: 8081, containerPort: 80 },
      { name: 'database', hostPort: 5433, composeService: 'db' },
      { name: 'api', hostPort: 3005 },
      { name: 'cache', hostPort: 6380 },
    ];
    const plan = planComposeOverride(declared, base);
    expect(plan.services).toEqual([
      { service: 'web', ports: [{ hostPort: 8081, containerPort: 80, hostIp: '127.0.0.1', protocol: 'tcp' }, { keep: '9229' }] },
      { service: 'db', ports: [{ hostPort: 5433, containerPort: 5432, hostIp: null, protocol: 'tcp' }] },
    ]);
    expect(plan.skipped).toEqual([
      { name: 'api', reason: 'service "api" publishes 2 container ports (3000, 3001); set `compose.containerPort` for it in your ports config' },
      { name: 'cache', reason: 'no Compose service "cache" in the base file(s) (set `compose.service` for it in your ports config)' },
    ]);
    expect(plan.notes).toEqual([expect.stringContaining('"7000:7000/udp" is not published by the override')]);
  });

  it('puts two declared services of one Compose service in one list', () => {
    const plan = planComposeOverride(
      [
        { name: 'api', hostPort: 3005, containerPort: 3000 },
        { name: 'debug', composeService: 'api', hostPort: 5556, containerPort: 3001 },
      ],
      base,
    );
    expect(plan.services).toEqual([
      {
        service: 'api',
        ports: [
          { hostPort: 3005, containerPort: 3000, hostIp: null, protocol: 'tcp' },
          { hostPort: 5556, containerPort: 3001, hostIp: null, protocol: 'tcp' },
        ],
      },
    ]);
    expect(plan.notes).toEqual([]);
  });
});

describe('parseComposeServices with anchors and merge keys', () => {
  it('reads ports a service gets through `<<: *anchor`, as Compose does', () => {
    const text = fs.readFileSync(path.join(__dirname, '..', 'fixtures', 'compose', 'anchors-merge.yml'), 'utf8');
    const parsed = parseComposeServices([{ file: 'anchors-merge.yml', text }]);
    expect(parsed.get('api')!.ports.map((p) => `${p.published}:${p.target}`)).toEqual(['8000:8000']);
    expect(parsed.get('worker')!.ports).toEqual([]);
    expect(planComposeOverride([{ name: 'api', hostPort: 21000 }], parsed).services).toEqual([{ service: 'api', ports: [{ hostPort: 21000, containerPort: 8000, hostIp: null, protocol: 'tcp' }] }]);
  });
});

describe('planComposeOverride with TCP and UDP on one port', () => {
  it('publishes the allocated port over both protocols, inferred or configured', () => {
    const base = services('services:\n  dns:\n    ports: ["1053:53/udp", "1053:53/tcp"]\n');
    for (const containerPort of [undefined, 53]) {
      const plan = planComposeOverride([{ name: 'dns', hostPort: 21053, containerPort }], base);
      expect(plan).toEqual({ services: [{ service: 'dns', ports: [{ hostPort: 21053, containerPort: 53, hostIp: null, protocol: 'tcp' }, { hostPort: 21053, containerPort: 53, hostIp: null, protocol: 'udp' }] }], skipped: [], notes: [] });
      expect(renderComposeOverride(plan.services)).toContain('ports: !override [ "21053:53", "21053:53/udp" ]');
    }
  });
});

describe('planComposeOverride with the protocol setting (compose.protocol)', () => {
  const base = services('services:\n  dns:\n    image: dns\n    expose: ["53"]\n');
  it.each([
    [['udp'], ['21053:53/udp']],
    [['tcp', 'udp'], ['21053:53', '21053:53/udp']],
  ])('publishes a container port the base file only exposes over %j', (protocols, rendered) => {
    const plan = planComposeOverride([{ name: 'dns', hostPort: 21053, containerPort: 53, protocols }], base);
    expect(plan.services[0]!.ports.map((p) => ('protocol' in p ? p.protocol : null))).toEqual(protocols);
    expect(renderComposeOverride(plan.services)).toContain(`ports: !override [ ${rendered.map((r) => `"${r}"`).join(', ')} ]`);
  });

  it('without it, such a port is published over tcp', () => {
    const plan = planComposeOverride([{ name: 'dns', hostPort: 21053, containerPort: 53 }], base);
    expect(plan.services[0]!.ports).toEqual([{ hostPort: 21053, containerPort: 53, hostIp: null, protocol: 'tcp' }]);
  });
});

describe('renderComposeOverride', () => {
  it('renders !override lists that a reader with the custom tag keeps', () => {
    const text = renderComposeOverride([
      { service: 'web', ports: [{ hostPort: 8081, containerPort: 80, hostIp: '127.0.0.1' }, { keep: '9229' }] },
      { service: 'db', ports: [{ hostPort: 5433, containerPort: 5432 }] },
    ]);
    expect(text.split('\n')[0]).toBe(OVERRIDE_HEADER);
    const doc = readBack(text);
    for (const name of ['web', 'db']) expect(doc.getIn(['services', name, 'ports'], true)).toMatchObject({ tag: '!override' });
    expect(doc.toJS()).toEqual({ services: { web: { ports: ['127.0.0.1:8081:80', '9229'] }, db: { ports: ['5433:5432'] } } });
    expect(text).toContain('ports: !override [ "127.0.0.1:8081:80", "9229" ]');
  });

  it('quotes mappings so YAML 1.1 readers (docker-compose v1) do not read 22:22 as a number', () => {
    const text = renderComposeOverride([{ service: 'ssh', ports: [{ hostPort: 22, containerPort: 22 }] }]);
    expect(text).toContain('"22:22"');
    expect(YAML.parse(text, { version: '1.1', customTags: [OVERRIDE_TAG] })).toEqual({ services: { ssh: { ports: ['22:22'] } } });
  });

  it('quotes service names YAML would read as something else', () => {
    const text = renderComposeOverride([
      { service: 'true', ports: [{ hostPort: 1, containerPort: 2 }] },
      { service: '1.0', ports: [{ hostPort: 3, containerPort: 4 }] },
    ]);
    expect(Object.keys(readBack(text).toJS().services)).toEqual(['true', '1.0']);
  });

  it('with tags: "none" renders plain lists without the kept base entries (v1 appends to the base list)', () => {
    const text = renderComposeOverride([{ service: 'web', ports: [{ hostPort: 8081, containerPort: 80 }, { keep: '9229' }] }], { tags: 'none' });
    expect(text).not.toContain('!override');
    expect(YAML.parse(text)).toEqual({ services: { web: { ports: ['8081:80'] } } });
  });

  it('renders an empty services map when nothing is mapped', () => {
    expect(readBack(renderComposeOverride([])).toJS()).toEqual({ services: {} });
  });
});

describe('formatPortMapping', () => {
  it.each([
    [{ hostPort: 8081, containerPort: 80 }, '8081:80'],
    [{ hostPort: 8081, containerPort: 80, hostIp: '127.0.0.1' }, '127.0.0.1:8081:80'],
    [{ hostPort: 8081, containerPort: 80, hostIp: '::1', protocol: 'udp' }, '[::1]:8081:80/udp'],
  ])('%p → %s', (mapping, expected) => {
    expect(formatPortMapping(mapping)).toBe(expected);
    const parsed = parseShortPort(expected)!;
    expect([parsed.published, parsed.target]).toEqual([String(mapping.hostPort), String(mapping.containerPort)]);
  });
});

describe('isGeneratedOverride', () => {
  it.each([
    ['our rendered file', renderComposeOverride([]), true],
    ['ours after leading blank lines and a BOM', `\uFEFF\n\r\n${renderComposeOverride([])}`, true],
    ['a hand-written override', 'services:\n  web:\n    ports: ["1:2"]\n', false],
    ['a hand-written one that mentions us later', `# mine\n${OVERRIDE_HEADER}\n`, false],
    ['an empty file', '', false],
  ])('%s → %p', (_label, text, expected) => {
    expect(isGeneratedOverride(text)).toBe(expected);
  });
});
