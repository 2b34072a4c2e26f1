/**
 * The block `ports install` puts into a post-checkout hook, and its removal. Pure: the template
 * text (hooks/post-checkout in the package) comes in, script text goes out. The block names no
 * path of the machine that installed it (it finds the tool at run time), so a committed hook
 * works in every clone and a folder name can never become shell code.
 */
export const BLOCK_START = '# >>> ports >>>';
export const BLOCK_END = '# <<< ports <<<';

export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/**
 * Fills `@NAME@` placeholders, each value single-quoted for sh. A replacement function, never a
 * replacement string: `$'`, `$&` and `$$` in a value stay literal text.
 */
export function renderHookBlock(template: string, values: Readonly<Record<string, string>> = {}): string {
  return template
    .replace(/@([A-Z_]+)@/g, (_match, name: string) => {
      if (!Object.prototype.hasOwnProperty.call(values, name)) throw new Error(`hook template placeholder @${name}@ has no value`);
      return shellQuote(values[name]);
    })
    .trimEnd();
}

export function hasHookBlock(script: string): boolean {
  return script.includes(BLOCK_START) && script.includes(BLOCK_END);
}

/** Removes our block (and the blank line we added after it); the rest stays byte for byte. */
export function removeHookBlock(script: string): string {
  const start = script.indexOf(BLOCK_START);
  const endMarker = script.indexOf(BLOCK_END, start);
  if (start === -1 || endMarker === -1) return script;
  let end = endMarker + BLOCK_END.length;
  if (script[end] === '\n') end++;
  if (script[end] === '\n') end++;
  return script.slice(0, start) + script.slice(end);
}

/**
 * Puts the block right after the shebang (or at the top), replacing an older block: at the
 * top, an `exit 0` at the end of the user's own hook cannot skip it.
 */
export function insertHookBlock(script: string | null, block: string, shebang = '#!/bin/sh'): string {
  const base = script === null ? `${shebang}\n` : removeHookBlock(script);
  if (base.startsWith('#!')) {
    const eol = base.indexOf('\n');
    const head = eol === -1 ? `${base}\n` : base.slice(0, eol + 1);
    const tail = eol === -1 ? '' : base.slice(eol + 1);
    return `${head}${block}\n\n${tail}`;
  }
  return `${block}\n\n${base}`;
}

/** A hook our sh block can be added to: a shell script, or a file without a shebang (husky's). */
export function isShellScript(script: string): boolean {
  if (!script.startsWith('#!')) return !script.includes('\u0000');
  const shebang = script.slice(0, script.indexOf('\n') === -1 ? undefined : script.indexOf('\n'));
  return /\b(sh|bash|dash|zsh|ksh)\b/.test(shebang);
}

/** True when what remains is exactly what `insertHookBlock(null, …)` started from: the file was ours. */
export function isLeftoverOfOurs(script: string, shebang = '#!/bin/sh'): boolean {
  return script === '' || script === `${shebang}\n`;
}

export const CHAINED_SUFFIX = '.ports-chained';

/**
 * The wrapper that replaces a non-shell hook: our block, then the previous hook with the same
 * arguments. A previous hook that is not executable (the user disabled it) is skipped with a
 * message, as git itself would skip it, instead of failing every checkout with "Permission denied".
 */
export function chainWrapper(block: string, hookName: string): string {
  const chained = `"$(dirname "$0")/${hookName}${CHAINED_SUFFIX}"`;
  return [
    '#!/bin/sh',
    block,
    '',
    `# ports: the ${hookName} hook that was here before \`ports install\``,
    `if [ -x ${chained} ]; then exec ${chained} "$@"; fi`,
    `echo "ports: skipped ${hookName}${CHAINED_SUFFIX}: it is not executable (chmod +x it to run it after ports)" >&2`,
    '',
  ].join('\n');
}
