import * as fs from 'node:fs';
import * as path from 'node:path';
import { DEFAULT_RANGES, emptyRegistry, validateRegistry } from '../../src/core/registry-schema';
import { parseRegistryText } from '../../src/io/registry-store';
import { RegistryCorruptError } from '../../src/errors';

const seedText = fs.readFileSync(path.join(__dirname, '..', 'fixtures', 'seed-registry.json'), 'utf8');
const seed = () => JSON.parse(seedText);

function problemsOf(text: string): string[] {
  try {
    parseRegistryText('/x/ports.json', text);
  } catch (error) {
    if (error instanceof RegistryCorruptError) return [...error.problems];
    throw error;
  }
  return [];
}

describe('registry schema', () => {
  it('accepts the seed document’s example registry exactly as written', () => {
    const result = validateRegistry(seed());
    expect(result.ok).toBe(true);
  });

  it('starts a new registry with the seed’s six default ranges', () => {
    const registry = emptyRegistry('2026-01-01T00:00:00.000Z');
    expect(registry.ranges).toEqual(DEFAULT_RANGES);
    expect(Object.fromEntries(Object.entries(registry.ranges).map(([k, r]) => [k, [r.start, r.end]]))).toEqual({
      web: [8080, 8099],
      database: [5432, 5439],
      testing: [9000, 9099],
      debug: [5555, 5564],
      api: [3000, 3099],
      cache: [6379, 6389],
    });
    expect(registry.metadata).toMatchObject({ version: '1.0.0', total_allocations: 0, schema_version: 1 });
    expect(validateRegistry(registry).ok).toBe(true);
  });

  it('keeps unknown fields (readers tolerate them)', () => {
    const data = seed();
    data.allocations[0].owner_note = 'x';
    data.extra_section = { a: 1 };
    const result = validateRegistry(data);
    expect(result.ok && result.registry.allocations[0]?.owner_note).toBe('x');
    expect(result.ok && result.registry.extra_section).toEqual({ a: 1 });
  });

  const mutations: [string, (d: any) => void, RegExp][] = [
    ['port as text', (d) => (d.allocations[0].port = '8080'), /allocations\[0\]\.port: expected a number, got the text "8080"/],
    ['port 70000', (d) => (d.allocations[1].port = 70000), /allocations\[1\]\.port: expected a number ≤ 65535, got 70000/],
    ['port 0', (d) => (d.allocations[0].port = 0), /allocations\[0\]\.port: expected a number ≥ 1/],
    ['negative port', (d) => (d.allocations[0].port = -1), /allocations\[0\]\.port: expected a number ≥ 1/],
    ['float port', (d) => (d.allocations[0].port = 8080.5), /allocations\[0\]\.port: expected an integer/],
    ['unknown health status', (d) => (d.allocations[0].health_status = 'great'), /allocations\[0\]\.health_status: expected one of "unknown", "healthy", "unhealthy", "not_running", got the text "great"/],
    ['reversed range', (d) => (d.ranges.web = { start: 8099, end: 8080, description: '' }), /ranges\.web\.end: start must not be greater than end/],
    ['missing allocations', (d) => delete d.allocations, /allocations: expected an array, got nothing/],
    ['missing metadata', (d) => delete d.metadata, /metadata: expected an object, got nothing/],
    ['newer schema_version', (d) => (d.metadata.schema_version = 2), /metadata\.schema_version: expected a number ≤ 1 \(is newer than this version of ports understands \(1\); upgrade ports\), got 2/],
    ['process_id as text', (d) => (d.allocations[1].process_id = '12345'), /allocations\[1\]\.process_id: /],
    ['bad timestamp', (d) => (d.allocations[0].allocated_at = 'yesterday'), /allocations\[0\]\.allocated_at: must be an ISO 8601 timestamp/],
    ['control characters in a worktree name', (d) => (d.allocations[0].worktree = 'a\nb'), /allocations\[0\]\.worktree: must not contain control characters/],
  ];
  it.each(mutations)('refuses %s and names the place', (_name, mutate, message) => {
    const data = seed();
    mutate(data);
    const problems = problemsOf(JSON.stringify(data));
    expect(problems.join('\n')).toMatch(message);
  });

  const texts: [string, string, RegExp][] = [
    ['an empty file', '', /the file is empty/],
    ['NUL bytes', '\u0000\u0000\u0000', /NUL bytes/],
    ['a trailing comma', seedText.replace(/}\s*\]\s*,\s*"metadata"/, '},]\n,"metadata"'), /not valid JSON at line \d+, column \d+/],
    ['git conflict markers', `<<<<<<< HEAD\n${seedText}=======\n${seedText}>>>>>>> other\n`, /git conflict markers \(line 1/],
    ['duplicate keys', seedText.replace('"port": 8080,', '"port": 8080, "port": 8081,'), /allocations\[0\]\.port: duplicate key "port"/],
    ['1e999', seedText.replace('"total_allocations": 2', '"total_allocations": 1e999'), /metadata\.total_allocations: expected a number, got a number too large for JSON|total_allocations/],
    ['a __proto__ key', seedText.replace('"ranges": {', '"ranges": { "__proto__": {"start": 1, "end": 2, "description": ""},'), /ranges\.__proto__: "__proto__" keys are not allowed/],
    ['an array at the top', '[]', /\(root\): expected an object/],
  ];
  it.each(texts)('refuses %s with its location', (_name, text, message) => {
    expect(problemsOf(text).join('\n')).toMatch(message);
  });
});
