import * as fs from 'node:fs';
import * as path from 'node:path';
import * as root from '../../src/index';

const ROOT = path.resolve(__dirname, '..', '..');

describe('the package root', () => {
  it('exports the documented library API and nothing else', () => {
    expect(Object.keys(root).sort()).toEqual(
      [
        'allocatePort',
        'releasePort',
        'checkPortAvailable',
        'listAllocatedPorts',
        'ExitCode',
        'PortsError',
        'UsageError',
        'ConfigError',
        'UnknownServiceError',
        'NotFoundError',
        'RegistryMissingError',
        'RangeExhaustedError',
        'ConflictError',
        'RegistryError',
        'RegistryCorruptError',
        'LockTimeoutError',
        'run',
        'RegistryStore',
        'pickPort',
        'allocateInRegistry',
        'planReconcile',
        'resolveRepo',
        'loadConfig',
      ].sort(),
    );
  });

  it('names every export in the README’s Library API section', () => {
    const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const section = /^## Library API\n([\s\S]*?)^## /m.exec(readme)?.[1] ?? '';
    expect(Object.keys(root).filter((name) => !new RegExp(`\\b${name}\\b`).test(section))).toEqual([]);
  });
});
