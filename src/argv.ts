/**
 * argv → the command and its options, with node:util's parseArgs under the command table of
 * cli.ts (grouped short flags, `--name=value`, `--`).
 */
import { parseArgs as nodeParseArgs } from 'node:util';
import { COMMANDS, GLOBAL_FLAGS, list, type CommandSpec, type FlagSpec, type ParsedArgs } from './cli';
import { UsageError } from './errors';

export function findCommand(name: string): CommandSpec | undefined {
  return COMMANDS.find((c) => c.name === name || c.aliases?.includes(name));
}

/** Every option any command takes, for finding the command name: a short letter and a long name mean the same everywhere. */
const ALL_FLAGS: Record<string, FlagSpec> = Object.assign({}, GLOBAL_FLAGS, ...COMMANDS.map((c) => c.flags));

type ParseOptions = NonNullable<Parameters<typeof nodeParseArgs>[0]>['options'];

function parseOptions(specs: Record<string, FlagSpec>): ParseOptions {
  // `--color` undoes `--no-color` (or NO_COLOR); it is not listed in the help.
  const options: ParseOptions = { color: { type: 'boolean' } };
  for (const [name, spec] of Object.entries(specs)) options[name] = { type: spec.type, ...(spec.short ? { short: spec.short } : {}) };
  return options;
}

function tokenize(argv: readonly string[], specs: Record<string, FlagSpec>) {
  // Not strict: the tokens are checked below, so the messages name `ports CMD --help`.
  return nodeParseArgs({ args: [...argv], options: parseOptions(specs), strict: false, allowPositionals: true, tokens: true }).tokens;
}

/**
 * Splits argv into the command name and its parsed flags with node:util's parseArgs (grouped
 * short flags, `--name=value`, `--`); unknown flags are usage errors. Global flags may come
 * before or after the command name; everything after `--` is `rest`.
 */
export function parseArgs(argv: readonly string[]): { command: CommandSpec | undefined; name: string | undefined; args: ParsedArgs } {
  // The command name is the first bare word that is not a flag's value (`--cwd DIR status`):
  // the first argument itself when it is no flag, as in nearly every run (one tokenizing fewer).
  const first = argv[0];
  const nameToken =
    first !== undefined && !first.startsWith('-')
      ? { kind: 'positional' as const, index: 0, value: first }
      : tokenize(argv, ALL_FLAGS).find((t) => t.kind === 'positional' || t.kind === 'option-terminator');
  const name = nameToken?.kind === 'positional' ? nameToken.value : undefined;
  const command = name ? findCommand(name) : undefined;
  const rest: string[] = [];
  if (name && !command) return { command, name, args: { positionals: [], flags: {}, rest } };
  const specs: Record<string, FlagSpec> = { ...GLOBAL_FLAGS, ...(command?.flags ?? {}) };
  const flags: ParsedArgs['flags'] = {};
  const positionals: string[] = [];
  const forCommand = command ? ` for \`ports ${command.name}\`` : '';
  for (const token of tokenize(argv, specs)) {
    if (token.kind === 'option-terminator') {
      rest.push(...argv.slice(token.index + 1));
      break;
    }
    if (token.kind === 'positional') {
      if (token.index !== nameToken?.index) positionals.push(token.value);
      continue;
    }
    if (token.name === 'color') {
      flags['no-color'] = false;
      continue;
    }
    const spec = specs[token.name];
    if (!spec) throw new UsageError(`Unknown option ${token.rawName}${forCommand}.`, `Run \`ports ${command ? `${command.name} ` : ''}--help\`.`);
    if (spec.type === 'boolean') {
      if (token.inlineValue) throw new UsageError(`--${token.name} takes no value.`);
      flags[token.name] = true;
      continue;
    }
    if (token.value === undefined) throw new UsageError(`--${token.name} needs a value${spec.value ? ` (${spec.value})` : ''}.`);
    flags[token.name] = spec.multiple ? [...list(flags[token.name]), token.value] : token.value;
  }
  if (command && positionals.length > command.maxPositionals) {
    throw new UsageError(`Too many arguments for \`ports ${command.name}\`: ${positionals.slice(command.maxPositionals).join(' ')}.`, `Usage: ${command.usage}`);
  }
  return { command, name, args: { positionals, flags, rest } };
}
