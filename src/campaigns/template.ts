import type { Placeholder } from './schema.ts';

/** Values a template can show. */
export type TemplateValues = Record<Placeholder, string>;

/** A template split once into literal text and placeholders, so rendering is a join. */
export interface CompiledTemplate {
  readonly pieces: readonly string[];
  /** pieces[i] is a placeholder name when isVar[i]. */
  readonly isVar: readonly boolean[];
  readonly usesPromo: boolean;
}

export function compileTemplate(template: string): CompiledTemplate {
  const pieces: string[] = [];
  const isVar: boolean[] = [];
  let last = 0;
  for (const m of template.matchAll(/\{([a-z_]+)\}/g)) {
    if (m.index > last) {
      pieces.push(template.slice(last, m.index));
      isVar.push(false);
    }
    pieces.push(m[1]);
    isVar.push(true);
    last = m.index + m[0].length;
  }
  if (last < template.length) {
    pieces.push(template.slice(last));
    isVar.push(false);
  }
  return { pieces, isVar, usesPromo: pieces.some((p, i) => isVar[i] && p === 'promo_code') };
}

export function renderTemplate(t: CompiledTemplate, values: TemplateValues): string {
  let out = '';
  for (let i = 0; i < t.pieces.length; i++)
    out += t.isVar[i] ? values[t.pieces[i] as Placeholder] : t.pieces[i];
  return out;
}
