// SQL text lives in sql/<domain>/<name>.sql and is read once, on first use. Whole-line comments
// are dropped on reading: the engine parses every statement's text again, and the comments are for
// readers of the files.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const projectPath = (...parts: string[]) => join(root, ...parts);

const cache = new Map<string, string>();

/** The text of sql/<name>.sql, e.g. sql('events/find-existing-ids'). */
export function sql(name: string): string {
  let text = cache.get(name);
  if (text === undefined) {
    text = readFileSync(projectPath('sql', `${name}.sql`), 'utf8').replace(/^[ \t]*--.*(\r?\n|$)/gm, '').trim().replace(/;$/, '');
    cache.set(name, text);
  }
  return text;
}

/**
 * Fill the {{slot}} placeholders of a query template with fixed fragments (never user text).
 * A function replacer keeps `$'`-like sequences in fragments literal; an unfilled slot throws.
 */
export function fillSlots(template: string, slots: Record<string, string>): string {
  return template.replace(/\{\{([a-z_]+)\}\}/g, (_, name: string) => {
    const fragment = slots[name];
    if (fragment === undefined) throw new Error(`query template slot {{${name}}} has no fragment`);
    return fragment;
  });
}
