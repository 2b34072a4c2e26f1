import * as fs from 'node:fs';
import * as path from 'node:path';
import { configSchema, normalizeConfig } from '../../src/config/schema';
import { formatIssue } from '../../src/core/registry-schema';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { configJsonSchema } = require('../../scripts/config-json-schema.js');

const ROOT = path.join(__dirname, '..', '..');

describe('config schema', () => {
  it('accepts .portsrc.example.json, which uses every key', () => {
    const example = JSON.parse(fs.readFileSync(path.join(ROOT, '.portsrc.example.json'), 'utf8'));
    const result = configSchema.safeParse(example);
    expect(result.success).toBe(true);
    const keys = (o: object) => Object.keys(o).sort();
    const shape = configSchema.def.shape;
    expect(keys(example)).toEqual(keys(shape));
    expect(keys(example.services.web)).toEqual(['compose', 'description', 'env', 'health']);
    expect(keys(example.services.web.health).concat('host').sort()).toEqual(['expectStatus', 'headers', 'host', 'path', 'timeoutMs', 'type']);
    const config = normalizeConfig(result.data!, 'x');
    expect(config.services.map((s) => [s.name, s.env])).toEqual([
      ['web', 'PORT_WEB'],
      ['api', 'PORT_API'],
      ['database', 'POSTGRES_PORT'],
      ['cache', 'PORT_CACHE'],
      ['storybook', 'PORT_STORYBOOK'],
    ]);
  });

  it('ships schema/portsrc.schema.json generated from the same zod schema', () => {
    const committed = fs.readFileSync(path.join(ROOT, 'schema', 'portsrc.schema.json'), 'utf8');
    expect(committed).toBe(configJsonSchema(configSchema));
  });

  it.each([
    [{ services: { web: { env: '1BAD' } } }, 'services.web.env: must be an environment variable name'],
    [{ services: { web: { prot: 1 } } }, 'services.web: unknown key "prot"'],
    [{ ranges: { web: { start: 9, end: 1 } } }, 'ranges.web.end: start must not be greater than end'],
    [{ services: { web: { health: { type: 'smtp' } } } }, 'services.web.health.type: expected one of "http", "postgres", "redis", "tcp", "none"'],
    [{ envFile: '/etc/passwd' }, 'envFile: must be a relative path'],
  ])('reports %j with the key path', (input, message) => {
    const result = configSchema.safeParse(input);
    expect(result.success).toBe(false);
    expect(result.error!.issues.map((i) => formatIssue(i, input)).join('\n')).toContain(message);
  });
});
