// `npm run docs:config`: renders the configuration table (variable, default, description) from the zod
// schema in src/config.ts and writes it into README.md between <!-- config:start --> and
// <!-- config:end -->; without the markers, it adds a "## Configuration" section after "## Privacy".
// test/unit/config-docs.test.ts fails when the README's table differs from what this renders.
import { readFile, writeFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import type { z } from 'zod';
import { configSchema } from '../src/config.ts';

export const START_MARKER = '<!-- config:start -->';
export const END_MARKER = '<!-- config:end -->';

const BOOL_VALUES = ['true', 'false', '1', '0', 'yes', 'no'];

// The fields of zod's internal definition this renderer reads (zod 4 keeps them under `_zod.def`).
interface Def {
  type: string;
  innerType?: z.ZodType;
  in?: z.ZodType;
  defaultValue?: unknown;
  entries?: Record<string, string>;
}
const defOf = (s: z.ZodType) => (s as unknown as { _zod: { def: Def } })._zod.def;

/** What a variable accepts, in words: enum values, boolean spellings, numeric range. */
function accepted(schema: z.ZodType): string {
  let s: z.ZodType | undefined = schema;
  while (s) {
    const def = defOf(s);
    if (def.type === 'enum') {
      const values = Object.values(def.entries ?? {});
      if (values.length === BOOL_VALUES.length && values.every((v) => BOOL_VALUES.includes(v)))
        return '`true` or `false` (also `1`/`0`, `yes`/`no`).';
      return `One of ${values.map((v) => `\`${v}\``).join(', ')}.`;
    }
    if (def.type === 'number') {
      const n = s as z.ZodNumber;
      const kind = n.isInt ? 'Integer' : 'Number';
      const finite = (x: number | null) =>
        x !== null && Number.isFinite(x) && Math.abs(x) < Number.MAX_SAFE_INTEGER;
      if (finite(n.minValue) && finite(n.maxValue)) return `${kind}, ${n.minValue}–${n.maxValue}.`;
      if (finite(n.minValue)) return `${kind}, ≥ ${n.minValue}.`;
      return `${kind}.`;
    }
    s = def.innerType ?? def.in;
  }
  return '';
}

function defaultOf(schema: z.ZodType): string {
  const def = defOf(schema);
  if (def.type !== 'default') return '*(unset)*';
  const v = def.defaultValue;
  if (v === '') return '*(empty)*';
  return `\`${String(v)}\``;
}

/** Markdown table cells: no raw pipes or line breaks. */
function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\s*\n\s*/g, ' ');
}

/** The configuration table, one row per key of the config schema, in schema order. */
export function renderConfigTable(schema: z.ZodObject = configSchema): string {
  const rows = ['| Variable | Default | Description |', '|---|---|---|'];
  for (const [key, field] of Object.entries(schema.shape)) {
    const s = field as z.ZodType;
    if (!s.description)
      throw new Error(`config key ${key} has no .describe(): every key must say what it does`);
    const text = [s.description, accepted(s)].filter((x) => x !== '').join(' ');
    rows.push(`| \`${key}\` | ${cell(defaultOf(s))} | ${cell(text)} |`);
  }
  return rows.join('\n');
}

const SECTION_INTRO = `## Configuration

Every setting is an environment variable, read once at start-up by one zod schema (\`src/config.ts\`);
an invalid value stops start-up with a message naming the variable and the problem. Unset variables take
the default below. The table is generated from the schema: after changing it, run \`npm run docs:config\`
(a unit test fails while the two differ).`;

/** The README with the table between the markers, adding the section after "## Privacy" when missing. */
export function withConfigTable(readme: string, table: string = renderConfigTable()): string {
  const block = `${START_MARKER}\n${table}\n${END_MARKER}`;
  const start = readme.indexOf(START_MARKER);
  const end = readme.indexOf(END_MARKER);
  if (start >= 0 && end > start)
    return readme.slice(0, start) + block + readme.slice(end + END_MARKER.length);
  if (start >= 0 || end >= 0) throw new Error(`README.md has only one of ${START_MARKER} / ${END_MARKER}`);
  const privacy = readme.search(/^## Privacy\s*$/m);
  if (privacy < 0) throw new Error('README.md has no "## Privacy" section to put the configuration after');
  const next = readme.slice(privacy + 1).search(/^## /m);
  const at = next < 0 ? readme.length : privacy + 1 + next;
  const before = readme.slice(0, at).replace(/\n*$/, '\n\n');
  const after = readme.slice(at);
  return `${before}${SECTION_INTRO}\n\n${block}\n${after ? `\n${after}` : ''}`;
}

/** The table currently in the README (between the markers), or undefined. */
export function readmeConfigTable(readme: string): string | undefined {
  const start = readme.indexOf(START_MARKER);
  const end = readme.indexOf(END_MARKER);
  if (start < 0 || end < start) return undefined;
  return readme.slice(start + START_MARKER.length, end).trim();
}

async function main(): Promise<void> {
  const file = new URL('../README.md', import.meta.url);
  const readme = await readFile(file, 'utf8');
  const next = withConfigTable(readme);
  if (next === readme) {
    console.log('README.md: configuration table already up to date');
    return;
  }
  await writeFile(file, next);
  console.log(`README.md: configuration table written (${Object.keys(configSchema.shape).length} variables)`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
