'use strict';
// schema/portsrc.schema.json is generated from the zod config schema (src/config/schema.ts), so the
// editor schema and the validator cannot drift apart; test/unit/config-schema.test.ts checks it.
const z = require('zod/mini');

const DESCRIPTIONS = {
  '': 'Configuration of `ports` (https://github.com/ — see README "Configuration"): which services every worktree gets, their env variables and health checks.',
  registry: 'Registry file, relative to the main worktree root. Default: design/worktrees/ports.json. Overridden by PORTS_REGISTRY and --registry.',
  ranges: 'Extra or changed port ranges, merged over the defaults (web 8080-8099, database 5432-5439, testing 9000-9099, debug 5555-5564, api 3000-3099, cache 6379-6389). Changed ranges apply with `ports init --force`.',
  services: 'Services every worktree gets on `git worktree add` and `ports allocate`. Keys are range keys; `true` takes every default.',
  'services.*.env': 'Variable written to the .env block. Default: PORT_<SERVICE>.',
  'services.*.description': 'Stored in the registry allocation.',
  'services.*.health': 'How `ports health` checks the service beyond a bind test.',
  'services.*.health.type': 'http: GET path and expect a status; postgres: SSLRequest handshake; redis: PING; tcp: connect; none: bind test only. Default: http for services named web or api (or when path/expectStatus/headers are set), else tcp.',
  'services.*.health.path': 'HTTP path to GET. Default: /.',
  'services.*.health.expectStatus': 'Expected HTTP status (or list). Default: 200-399.',
  'services.*.health.headers': 'Extra HTTP request headers.',
  'services.*.health.timeoutMs': 'Timeout of the check in milliseconds. Default: 2000 (or --timeout).',
  'services.*.health.host': 'Host to check. Default: 127.0.0.1, then ::1.',
  'services.*.compose': 'Docker Compose mapping for `ports compose`.',
  'services.*.compose.service': 'Compose service publishing this port. Default: the compose service with the same name.',
  'services.*.compose.containerPort': 'Container-side port. Default: inferred from the base file when it publishes exactly one.',
  'services.*.compose.protocol': 'Protocol(s) of the container port for `ports compose --write`: tcp, udp or tcp+udp. Default: what the base file\'s mappings say, else tcp.',
  machine: 'Coordinate with every other repository of this user on the machine (the machine index): never hand out a port another registry holds. Default: true. false: this repository is not recorded in the index and does not read it.',
  envFile: 'Env file of each worktree that gets the managed block, relative to the worktree. Default: .env.',
  compose: 'Docker Compose settings.',
  'compose.files': 'Base compose files, relative to the worktree. Default: Compose\'s own lookup (COMPOSE_FILE, compose.yaml, docker-compose.yml, …).',
  'compose.overrideFile': 'File written by `ports compose --write`. Default: docker-compose.override.yml.',
  proxy: '`ports proxy` settings.',
  'proxy.port': 'Port of `ports proxy` and the dashboard. Default: 7355. PORTS_PROXY_PORT and --port win.',
  urls: 'Also write URL_<SERVICE>=http://<service>.<worktree>.<repo>.localhost:<proxy port>/ into the env block. Default: false.',
};

function describe(node, path) {
  if (!node || typeof node !== 'object') return;
  const text = DESCRIPTIONS[path];
  if (text) node.description = text;
  if (node.properties) for (const [key, child] of Object.entries(node.properties)) describe(child, path ? `${path}.${key}` : key);
  if (node.additionalProperties && typeof node.additionalProperties === 'object') {
    describe(node.additionalProperties, `${path}.*`);
    for (const alt of node.additionalProperties.anyOf ?? []) describe(alt, `${path}.*`);
  }
}

function configJsonSchema(configSchema) {
  const schema = z.toJSONSchema(configSchema, { io: 'input' });
  schema.$id = 'https://unpkg.com/worktree-ports/schema/portsrc.schema.json';
  schema.title = 'ports configuration (.portsrc.json)';
  describe(schema, '');
  return JSON.stringify(schema, null, 2) + '\n';
}

module.exports = { configJsonSchema };

if (require.main === module) {
  // node scripts/config-json-schema.js  → rewrites schema/portsrc.schema.json from the built schema
  const fs = require('node:fs');
  const path = require('node:path');
  const { configSchema } = require('../dist/config/schema.js');
  fs.writeFileSync(path.join(__dirname, '..', 'schema', 'portsrc.schema.json'), configJsonSchema(configSchema));
}
