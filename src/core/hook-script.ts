/**
 * The block `ports install` puts into a post-checkout hook, and its removal. Pure: the template
 * text (hooks/post-checkout in the package) and paths come in, script text goes out. Paths are
 * single-quoted for sh, so a path with spaces or `$` stays data.
 */
export const BLOCK_START = '# >>> ports >>>';
export const BLOCK_END = '# <<< ports <<<';

export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

export function renderHookBlock(template: string, candidates: readonly string[], nodePath: string): string {
  return template
    .replace('@CANDIDATES@', candidates.map(shellQuote).join(' '))
    .replace('@CANDIDATES_TEXT@', candidates.join(' or ').replace(/[`"$\\]/g, '_'))
    .replace('@NODE@', shellQuote(nodePath))
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

/** The wrapper that replaces a non-shell hook: our block, then the previous hook with the same arguments. */
export function chainWrapper(block: string, hookName: string): string {
  return `#!/bin/sh\n${block}\n\n# ports: the ${hookName} hook that was here before \`ports install\`\nexec "$(dirname "$0")/${hookName}${CHAINED_SUFFIX}" "$@"\n`;
}
