/**
 * `ports compose --interpolate`: rewrite the base compose file(s) once so each declared
 * service's published host port reads its variable, with the original port as the default
 * (`"8080:80"` → `"${PORT_WEB:-8080}:80"`). Every Compose (v1 and v2) interpolates that, and a
 * checkout without the tool still gets the original port.
 *
 * The file is parsed with the `yaml` Document API only to find the scalars to change; the new
 * text is the old one with those scalars' source ranges replaced, so comments, anchors, merge
 * keys, quoting, order and indentation stay byte for byte. Pure: text in, text and edits out.
 */
import * as YAML from 'yaml';
import { ConfigError } from '../errors';
import { COMPOSE_CUSTOM_TAGS, deref, lookup, parseShortPort, splitOutside } from './compose-override';

export interface InterpolateTarget {
  /** The ports service (range key), for messages. */
  name: string;
  /** Its variable, e.g. PORT_WEB. */
  env: string;
  composeService: string;
  /** Container port; default inferred from the files (the one target published on a fixed host port). */
  containerPort?: number;
}

export interface InterpolateEdit {
  file: string;
  /** 1-based line of the changed scalar. */
  line: number;
  composeService: string;
  kind: 'port' | 'container_name';
  before: string;
  after: string;
}

export interface FileInterpolation {
  file: string;
  /** The text as read. */
  original: string;
  text: string;
  edits: InterpolateEdit[];
}

export interface InterpolationResult {
  files: FileInterpolation[];
  /** What was left alone, and why (ranges, shared anchors, other variables…). */
  notes: string[];
  /** Mappings already reading their variable: how a second run knows it has nothing to do. */
  already: number;
}

export interface InterpolateOptions {
  /** The default for `${COMPOSE_PROJECT_NAME:-…}` in a rewritten container_name, per file. */
  projectDefault: (file: string) => string;
}

/** One port entry as found: the node to replace and what it says. */
interface PortEntry {
  composeService: string;
  /** The scalar to rewrite: the whole short-syntax string, or the long syntax's `published`. */
  scalar: YAML.Scalar | null;
  short: boolean;
  published: string | null;
  target: string;
  line: number;
}

interface ParsedCompose {
  file: string;
  text: string;
  ports: PortEntry[];
  containerNames: Array<{ composeService: string; scalar: YAML.Scalar; line: number }>;
  /** Services reaching each node: a node reached by two services came through a shared anchor. */
  reachedBy: Map<YAML.Node, Set<string>>;
}

function lineOf(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

function scalarText(node: YAML.Node | null): string | null {
  return YAML.isScalar(node) && (typeof node.value === 'string' || typeof node.value === 'number') ? String(node.value) : null;
}

function parseCompose(file: string, text: string): ParsedCompose {
  const doc = YAML.parseDocument(text, { customTags: COMPOSE_CUSTOM_TAGS, uniqueKeys: false, keepSourceTokens: false });
  if (doc.errors.length > 0) {
    const error = doc.errors[0]!;
    const where = error.linePos ? `${error.linePos[0].line}:${error.linePos[0].col}` : '?';
    throw new ConfigError(`${file}:${where}: not valid YAML (${error.message.split('\n')[0]}); the file is left as it is.`, {
      file,
      hint: 'Fix the file (`docker compose config` shows what Compose makes of it), then run `ports compose --interpolate` again.',
    });
  }
  const parsed: ParsedCompose = { file, text, ports: [], containerNames: [], reachedBy: new Map() };
  const services = deref(doc, doc.get('services', true) as YAML.Node);
  if (!YAML.isMap(services)) return parsed;
  const reach = (node: YAML.Node, service: string) => {
    const set = parsed.reachedBy.get(node) ?? new Set<string>();
    set.add(service);
    parsed.reachedBy.set(node, set);
  };
  for (const pair of services.items) {
    const name = scalarText(pair.key as YAML.Node);
    const service = YAML.isNode(pair.value) ? deref(doc, pair.value) : null;
    if (name === null || !YAML.isMap(service)) continue;
    const containerName = lookup(doc, service, 'container_name');
    if (YAML.isScalar(containerName) && scalarText(containerName) !== null) {
      reach(containerName, name);
      parsed.containerNames.push({ composeService: name, scalar: containerName, line: lineOf(text, containerName.range![0]) });
    }
    const ports = lookup(doc, service, 'ports');
    if (!YAML.isSeq(ports)) continue;
    for (const item of ports.items) {
      const entry = YAML.isNode(item) ? deref(doc, item) : null;
      if (!entry) continue;
      const found = portEntry(doc, text, name, entry);
      if (!found) continue;
      if (found.scalar) reach(found.scalar, name);
      parsed.ports.push(found);
    }
  }
  return parsed;
}

function portEntry(doc: YAML.Document, text: string, composeService: string, entry: YAML.Node): PortEntry | null {
  const line = lineOf(text, entry.range?.[0] ?? 0);
  if (YAML.isScalar(entry)) {
    const value = scalarText(entry);
    const port = value === null ? null : parseShortPort(value);
    if (!port) return null;
    return { composeService, scalar: YAML.isScalar(entry) ? entry : null, short: true, published: port.published, target: port.target, line };
  }
  if (!YAML.isMap(entry)) return null;
  const target = scalarText(lookup(doc, entry, 'target'));
  if (target === null) return null;
  const publishedNode = lookup(doc, entry, 'published');
  const published = scalarText(publishedNode);
  return { composeService, scalar: YAML.isScalar(publishedNode) ? publishedNode : null, short: false, published: published === '' ? null : published, target, line };
}

/** `${NAME}`, `${NAME:-8080}`, `${NAME-8080}`: a host port that already reads a variable (which one). */
function variableOf(published: string): string | null {
  const m = /^\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?-[^}]*)?\}$/.exec(published);
  return m ? m[1]! : published.includes('$') ? '' : null;
}

/** The container port each target rewrites: configured, or the one target published on a fixed host port across the files. */
function containerPortOf(target: InterpolateTarget, entries: readonly PortEntry[]): { port: string } | { reason: string } {
  if (target.containerPort !== undefined) return { port: String(target.containerPort) };
  const mine = entries.filter((e) => e.composeService === target.composeService);
  const published = new Set(mine.filter((e) => e.published !== null).map((e) => e.target));
  if (published.size === 1) return { port: [...published][0]! };
  if (published.size === 0) {
    return { reason: mine.length ? `service "${target.composeService}" publishes no host port` : `no Compose service "${target.composeService}" publishes a port in these files` };
  }
  return { reason: `service "${target.composeService}" publishes several container ports (${[...published].join(', ')}); set \`compose.containerPort\` for ${target.name} in your ports config` };
}

/** The scalar's new source text: the same quotes when it had some, double quotes otherwise (`${` and `:` need them in YAML 1.1 readers). */
function quoted(original: YAML.Scalar, value: string): string {
  if (original.type === YAML.Scalar.QUOTE_SINGLE) return `'${value.replace(/'/g, "''")}'`;
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

function withPublished(short: string, published: string): string {
  const [mapping, ...protocol] = splitOutside(short.trim(), '/');
  const parts = splitOutside(mapping!, ':');
  parts[parts.length - 2] = published;
  return [parts.join(':'), ...protocol].join('/');
}

/** Docker's container names: `[a-zA-Z0-9][a-zA-Z0-9_.-]*`; a project name as Compose derives it from a folder. */
export function projectNameFromFolder(folder: string): string {
  return folder.toLowerCase().replace(/[^a-z0-9_-]/g, '').replace(/^[^a-z0-9]+/, '') || 'default';
}

export function interpolateCompose(inputs: ReadonlyArray<{ file: string; text: string }>, targets: readonly InterpolateTarget[], options: InterpolateOptions): InterpolationResult {
  const parsed = inputs.map(({ file, text }) => parseCompose(file, text));
  const allEntries = parsed.flatMap((p) => p.ports);
  const notes: string[] = [];
  let already = 0;
  const replacements = new Map<ParsedCompose, Array<{ scalar: YAML.Scalar; text: string; edit: InterpolateEdit }>>();
  const add = (p: ParsedCompose, scalar: YAML.Scalar, newText: string, edit: Omit<InterpolateEdit, 'file' | 'before' | 'after'>) => {
    const list = replacements.get(p) ?? [];
    if (list.some((r) => r.scalar === scalar)) return;
    const before = p.text.slice(scalar.range![0], scalar.range![1]);
    list.push({ scalar, text: newText, edit: { ...edit, file: p.file, before, after: newText } });
    replacements.set(p, list);
  };
  const shared = (p: ParsedCompose, node: YAML.Node, what: string, line: number): boolean => {
    const users = p.reachedBy.get(node);
    if (!users || users.size < 2) return false;
    notes.push(`${p.file}:${line}: ${what} comes from an anchor that services ${[...users].join(', ')} share; left as it is (give each service its own mapping, then run again).`);
    return true;
  };

  const covered = new Map<string, Set<string>>();
  for (const target of targets) {
    const container = containerPortOf(target, allEntries);
    if ('reason' in container) {
      notes.push(`${target.name}: not rewritten: ${container.reason}.`);
      continue;
    }
    covered.set(target.composeService, (covered.get(target.composeService) ?? new Set()).add(container.port));
    for (const p of parsed) {
      for (const entry of p.ports) {
        if (entry.composeService !== target.composeService || entry.target !== container.port || entry.published === null) continue;
        const where = `${p.file}:${entry.line}: ${target.composeService}`;
        const variable = variableOf(entry.published);
        if (variable === target.env) {
          already++;
          continue;
        }
        if (variable !== null) {
          notes.push(`${where} publishes ${entry.published}; left as it is (${target.name} is ${target.env}).`);
          continue;
        }
        if (!/^\d+$/.test(entry.published)) {
          notes.push(`${where} publishes the port range ${entry.published}; left as it is (a range cannot read one port variable: give each worktree its own range by hand).`);
          continue;
        }
        if (!entry.scalar || entry.scalar.type === YAML.Scalar.BLOCK_FOLDED || entry.scalar.type === YAML.Scalar.BLOCK_LITERAL) {
          notes.push(`${where}: the mapping is not a one-line value; left as it is.`);
          continue;
        }
        if (shared(p, entry.scalar, `the mapping of ${target.composeService} (${entry.published}:${entry.target})`, entry.line)) continue;
        const value = `\${${target.env}:-${entry.published}}`;
        const newValue = entry.short ? withPublished(String(entry.scalar.value), value) : value;
        add(p, entry.scalar, quoted(entry.scalar, newValue), { line: entry.line, composeService: target.composeService, kind: 'port' });
      }
    }
  }

  // Other fixed host ports of the same services collide between worktrees just the same.
  for (const p of parsed) {
    for (const entry of p.ports) {
      const ports = covered.get(entry.composeService);
      if (!ports || ports.has(entry.target) || entry.published === null || variableOf(entry.published) !== null) continue;
      const what = /^\d+$/.test(entry.published) ? `host port ${entry.published}` : `host port range ${entry.published}`;
      notes.push(`${p.file}:${entry.line}: ${entry.composeService} also publishes container port ${entry.target} on the fixed ${what}, which no declared service covers: two worktrees' stacks would collide there (declare a ports service with \`compose.containerPort: ${entry.target}\`, or edit it by hand).`);
    }
  }

  // A fixed container_name is one container for every checkout: the second worktree's stack cannot start.
  for (const p of parsed) {
    for (const { composeService, scalar, line } of p.containerNames) {
      const name = String(scalar.value);
      if (name.includes('COMPOSE_PROJECT_NAME')) continue;
      if (shared(p, scalar, `container_name of ${composeService}`, line)) continue;
      add(p, scalar, quoted(scalar, `\${COMPOSE_PROJECT_NAME:-${options.projectDefault(p.file)}}-${name}`), { line, composeService, kind: 'container_name' });
    }
  }

  const files = parsed.map((p) => {
    const list = (replacements.get(p) ?? []).sort((a, b) => a.scalar.range![0] - b.scalar.range![0]);
    let text = '';
    let at = 0;
    for (const r of list) {
      text += p.text.slice(at, r.scalar.range![0]) + r.text;
      at = r.scalar.range![1];
    }
    text += p.text.slice(at);
    return { file: p.file, original: p.text, text, edits: list.map((r) => r.edit) };
  });
  return { files, notes, already };
}

/** container_name settings of the files' services (what `check` and `doctor` report). */
export function findContainerNames(inputs: ReadonlyArray<{ file: string; text: string }>): Array<{ file: string; line: number; composeService: string; name: string }> {
  return inputs.flatMap(({ file, text }) =>
    parseCompose(file, text)
      .containerNames.filter((c) => !String(c.scalar.value).includes('COMPOSE_PROJECT_NAME'))
      .map((c) => ({ file, line: c.line, composeService: c.composeService, name: String(c.scalar.value) })),
  );
}

/** A unified diff of two texts with the same line count (interpolation replaces within lines). */
export function lineDiff(file: string, before: string, after: string, context = 2): string {
  const a = before.split('\n');
  const b = after.split('\n');
  const changed = a.map((line, i) => line !== b[i]);
  const out: string[] = [];
  let i = 0;
  while (i < a.length) {
    if (!changed[i]) {
      i++;
      continue;
    }
    const start = Math.max(0, i - context);
    let end = i;
    // Extend the hunk while the next change is within two contexts.
    for (let j = i; j < a.length && j <= end + 2 * context; j++) if (changed[j]) end = j;
    const stop = Math.min(a.length - 1, end + context);
    out.push(`@@ -${start + 1},${stop - start + 1} +${start + 1},${stop - start + 1} @@`);
    for (let k = start; k <= stop; k++) {
      if (!changed[k]) {
        out.push(` ${a[k]}`);
        continue;
      }
      let run = k;
      while (run + 1 <= stop && changed[run + 1]) run++;
      for (let m = k; m <= run; m++) out.push(`-${a[m]}`);
      for (let m = k; m <= run; m++) out.push(`+${b[m]}`);
      k = run;
    }
    i = stop + 1;
  }
  return out.length ? [`--- ${file}`, `+++ ${file}`, ...out].join('\n') : '';
}
