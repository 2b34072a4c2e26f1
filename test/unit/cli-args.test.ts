import { parseArgs } from '../../src/argv';
import { COMMANDS, GLOBAL_FLAGS, type FlagSpec } from '../../src/cli';
import { UsageError } from '../../src/errors';

const parse = (...argv: string[]) => {
  const { name, args } = parseArgs(argv);
  return { name, ...args };
};

describe('parseArgs', () => {
  it.each([
    ['grouped short flags', ['status', '-qa'], { name: 'status', flags: { quiet: true, all: true }, positionals: [] }],
    ['a global flag and its value before the command', ['--cwd', 'DIR', 'status'], { name: 'status', flags: { cwd: 'DIR' }, positionals: [] }],
    ['a global flag with = after the command', ['status', '--cwd=DIR'], { name: 'status', flags: { cwd: 'DIR' }, positionals: [] }],
    ['a value that is also a command name', ['--cwd', 'status', 'next', 'web'], { name: 'next', flags: { cwd: 'status' }, positionals: ['web'] }],
    ['a short flag with its value attached', ['allocate', '-wreview', 'web'], { name: 'allocate', flags: { worktree: 'review' }, positionals: ['web'] }],
    ['a repeatable flag', ['allocate', '-s', 'web', '--service=api'], { name: 'allocate', flags: { service: ['web', 'api'] }, positionals: [] }],
    ['--no-color', ['status', '--no-color'], { name: 'status', flags: { 'no-color': true } }],
    ['--color after --no-color', ['--no-color', 'status', '--color'], { name: 'status', flags: { 'no-color': false } }],
    ['no command', ['--version'], { name: undefined, flags: { version: true } }],
  ])('%s', (_what, argv, expected) => {
    expect(parse(...argv)).toMatchObject({ rest: [], ...expected });
  });

  it('gives everything after -- to rest, flags included', () => {
    expect(parse('--quiet', 'exec', '--', 'npm', 'run', 'dev', '--json', '--')).toEqual({
      name: 'exec',
      flags: { quiet: true },
      positionals: [],
      rest: ['npm', 'run', 'dev', '--json', '--'],
    });
  });

  it.each([
    ['an unknown long option', ['allocate', '--bogus'], /^Unknown option --bogus for `ports allocate`\.$/, /ports allocate --help/],
    ['an unknown short option', ['status', '-x'], /^Unknown option -x for `ports status`\.$/, /ports status --help/],
    ['an unknown option in a group', ['status', '-qz'], /^Unknown option -z for `ports status`\.$/, /ports status --help/],
    ['an unknown option without a command', ['--bogus'], /^Unknown option --bogus\.$/, /ports --help/],
    ['another command’s flag', ['allocate', '--all'], /^Unknown option --all for `ports allocate`\.$/, /ports allocate --help/],
    ['a missing value', ['status', '--cwd'], /^--cwd needs a value \(DIR\)\.$/, undefined],
    ['a missing short value', ['release', '-w'], /^--worktree needs a value \(NAME\)\.$/, undefined],
    ['a value for a switch', ['status', '--all=yes'], /^--all takes no value\.$/, undefined],
    ['too many positionals', ['next', 'web', 'api'], /^Too many arguments for `ports next`: api\.$/, /Usage: ports next SERVICE/],
    ['positionals for a command that takes none', ['status', 'extra'], /^Too many arguments for `ports status`: extra\.$/, /Usage: ports status/],
  ])('%s is a usage error (exit 1) naming it', (_what, argv, message, hint) => {
    let error: unknown;
    try {
      parseArgs(argv);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).exitCode).toBe(1);
    expect((error as UsageError).message).toMatch(message);
    if (hint) expect((error as UsageError).hint).toMatch(hint);
  });

  it.each([
    ['allocate', true],
    ['release', true],
    ['status', true],
    ['health', true],
    ['compose', false],
    ['remove', false],
  ])('-w in `ports %s` means --worktree: %s', (command, hasWorktree) => {
    const argv = [command, '-w', 'review', ...(command === 'remove' ? ['x'] : [])];
    if (hasWorktree) expect(parse(...argv).flags).toEqual({ worktree: 'review' });
    else expect(() => parseArgs(argv)).toThrow(`Unknown option -w for \`ports ${command}\`.`);
  });

  it('-f is --file in compose and nothing in remove', () => {
    expect(parse('compose', '-f', 'a.yml', '-f', 'b.yml').flags).toEqual({ file: ['a.yml', 'b.yml'] });
    expect(() => parseArgs(['remove', 'x', '-f'])).toThrow('Unknown option -f for `ports remove`.');
    expect(parse('remove', 'x', '--force').flags).toEqual({ force: true });
  });

  it('gives each short letter and each long name one meaning across all commands', () => {
    const byShort = new Map<string, string>();
    const byLong = new Map<string, FlagSpec['type']>();
    for (const flags of [GLOBAL_FLAGS, ...COMMANDS.map((c) => c.flags)]) {
      for (const [long, spec] of Object.entries(flags)) {
        if (spec.short) expect(`-${spec.short} → --${byShort.get(spec.short) ?? long}`).toBe(`-${spec.short} → --${long}`);
        if (spec.short) byShort.set(spec.short, long);
        expect(`--${long}: ${byLong.get(long) ?? spec.type}`).toBe(`--${long}: ${spec.type}`);
        byLong.set(long, spec.type);
      }
    }
  });
});
