// Search: semantic (vector), hybrid or lexical, filtered by path prefix,
// domain and kind; each hit shows its code and opens the code view there.

import { KINDS, api } from '../api';
import { badge, codeUrl, h, link, muted } from '../dom';
import { codeBlock } from '../highlight';
import { go } from '../nav';
import type { DomainSummary, SearchHit, SearchPage } from '../types';

const MODES: [string, string][] = [
  ['hybrid', 'Hybrid'],
  ['vector', 'Semantic'],
  ['lexical', 'Lexical'],
];

export async function search(main: HTMLElement, url: URL): Promise<void> {
  const p = url.searchParams;
  const q = p.get('q')?.trim() ?? '';
  const filters = { mode: p.get('mode') ?? 'hybrid', path: p.get('path') ?? '', domain: p.get('domain') ?? '', kind: p.get('kind') ?? '' };
  const domains = await api<DomainSummary[]>('domains');
  const input = h('input', { id: 'q', name: 'q', type: 'search', value: q, required: true, autocomplete: 'off', placeholder: 'what the code does, or words in it' });
  const select = (id: string, label: string, options: [string, string][], value: string) => [
    h('label', { for: id }, label),
    h('select', { id, name: id }, options.map(([v, text]) => h('option', { value: v, selected: v === value }, text))),
  ];
  const form = h(
    'form',
    {
      class: 'search',
      role: 'search',
      onsubmit: (event: Event) => {
        event.preventDefault();
        const data = new FormData(form);
        const next = new URLSearchParams();
        for (const [name, value] of data) if (String(value).trim()) next.set(name, String(value).trim());
        go(`/search?${next}`);
      },
    },
    h('div', { class: 'row' }, h('label', { for: 'q' }, 'Search'), input, h('button', { type: 'submit' }, 'Search')),
    h(
      'div',
      { class: 'row filters' },
      select('mode', 'Mode', MODES, filters.mode),
      h('label', { for: 'path' }, 'Path prefix'),
      h('input', { id: 'path', name: 'path', value: filters.path, placeholder: 'e.g. src/app/' }),
      select('domain', 'Domain', [['', 'any'], ...domains.map((d): [string, string] => [d.domain, d.domain])], filters.domain),
      select('kind', 'Kind', [['', 'any'], ...KINDS.map((k): [string, string] => [k, k.replace('_', ' ')])], filters.kind),
    ),
  );
  main.append(h('h1', null, 'Search'), form);
  if (!q) {
    main.append(muted('Type what you are looking for: a behaviour in words, or a name.'));
    queueMicrotask(() => input.focus());
    return;
  }
  const results = h('ol', { class: 'hits', 'aria-label': 'Results' });
  main.append(results);
  let cursor: string | null = null;
  const more = h('button', { type: 'button', class: 'more', onclick: () => void page() }, 'More results');
  const page = async () => {
    const answer = await api<SearchPage>('search', { q, ...filters, cursor, k: 10 });
    if (answer.hits.length === 0 && !cursor) results.replaceWith(muted('Nothing found.'));
    results.append(...answer.hits.map(hit));
    cursor = answer.next_cursor;
    if (cursor) main.append(more);
    else more.remove();
  };
  await page();
}

function hit(found: SearchHit): HTMLElement {
  // Each unit of the hit opens at its own definition; the lines open where the hit starts.
  const names = found.qualnames.map((q, i) => [i ? ', ' : '', link(`${codeUrl(found.path)}?name=${encodeURIComponent(q)}`, h('strong', null, q))]);
  return h(
    'li',
    { class: 'hit' },
    h(
      'div',
      { class: 'hit-head' },
      names.length ? names : link(codeUrl(found.path, found.start_line), h('strong', null, found.path)),
      ' ',
      h('a', { class: 'muted', href: codeUrl(found.path, found.start_line) }, `${found.path}:${found.start_line}–${found.end_line}`),
      ' ',
      badge(found.kind.replace('_', ' ')),
      found.domains.map((d) => badge(d, 'domain')),
      ' ',
      h('span', { class: 'score muted' }, found.score.toFixed(3)),
    ),
    hitCode(found),
  );
}

/// The hit's code at its lines; the chunk's context header (its path, the
/// enclosing class) comes first, apart and unnumbered.
function hitCode(found: SearchHit): HTMLElement {
  const lines = found.text.replace(/\n$/, '').split('\n');
  const header = Math.max(0, lines.length - (found.end_line - found.start_line + 1));
  return h(
    'div',
    null,
    header ? h('pre', { class: 'chunk-header' }, lines.slice(0, header).join('\n')) : null,
    codeBlock(lines.slice(header).join('\n'), { first: found.start_line }),
  );
}
