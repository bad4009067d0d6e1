// The code view: the file tree, a file's source with its outline, domains,
// tags and findings at their lines, and the unit in context: what it calls
// (each call leads to its definition) and what calls it.

import { api, filePath, unitPath } from '../api';
import { badge, codeUrl, h, link, muted, section, type Child } from '../dom';
import { codeBlock } from '../highlight';
import { go } from '../nav';
import type { FileEntry, FileView, Symbol, UnitContext, UnitLink } from '../types';

export async function code(main: HTMLElement, url: URL): Promise<void> {
  const path = decodeURIComponent(url.pathname.replace(/^\/code\/?/, ''));
  const unit = url.searchParams.get('unit');
  if (!path && unit) {
    // A unit named without its file (a call's target): find its file.
    const context = await api<UnitContext>(unitPath(unit));
    go(codeUrl(context.symbol.path, context.symbol.line, unit), true);
    return;
  }
  const files = await api<FileEntry[]>('files');
  const tree = fileTree(files, path);
  if (!path) {
    main.append(h('div', { class: 'code-layout' }, tree, h('div', null, h('h1', null, 'Code'), muted('Choose a file.'))));
    return;
  }
  const file = await api<FileView>(filePath(path));
  // A unit named by its qualname (from a search hit) opens at its definition.
  const name = url.searchParams.get('name');
  const named = name ? file.units.find((u) => u.id.slice(u.id.indexOf(':') + 1) === name) : undefined;
  const line = Number(url.searchParams.get('line')) || named?.line || undefined;
  const chosen = unit ?? named?.id ?? innermost(file.units, line)?.id;
  const context = chosen ? await api<UnitContext>(unitPath(chosen)) : null;

  const notes = new Map<number, Child[]>();
  const note = (at: number, child: Child) => notes.set(at, [...(notes.get(at) ?? []), child]);
  for (const tag of file.tags) note(tag.line, badge(`@${tag.key} ${tag.value}`, 'tag'));
  for (const finding of file.findings) {
    note(finding.line, h('span', { class: `finding ${finding.severity}` }, badge(finding.rule, finding.severity), ' ', finding.message));
  }
  for (const callee of context?.callees ?? []) {
    for (const at of callee.lines) note(at, h('a', { class: 'call', href: `/code?unit=${encodeURIComponent(callee.unit)}` }, `→ ${callee.unit}`));
  }
  const source = codeBlock(file.source, { target: line, notes, anchors: true, lineUrl: (n) => codeUrl(path, n) });
  main.append(
    h(
      'div',
      { class: 'code-layout' },
      tree,
      h(
        'div',
        { class: 'code-main' },
        h('h1', { class: 'path' }, path),
        h('p', null, h('span', { class: 'muted' }, `${file.module} · ${file.lines} lines `), file.domains.map((d) => badge(d, 'domain'))),
        source,
      ),
      h('aside', { class: 'code-side' }, outline(file, chosen), context ? unitPanel(context) : null),
    ),
  );
  if (line) {
    main.addEventListener('rendered', () => document.getElementById(`L${line}`)?.scrollIntoView({ block: 'center' }), { once: true });
  }
}

/// The innermost unit whose lines hold `line`.
function innermost(units: Symbol[], line: number | undefined): Symbol | undefined {
  if (!line) return undefined;
  return units
    .filter((u) => u.start_line <= line && line <= u.end_line)
    .sort((a, b) => a.end_line - a.start_line - (b.end_line - b.start_line))[0];
}

function outline(file: FileView, chosen: string | undefined | null): HTMLElement {
  if (file.units.length === 0) return section('Outline', muted('No units.'));
  return section(
    'Outline',
    h(
      'ul',
      { class: 'outline' },
      file.units.map((u) =>
        h(
          'li',
          { class: u.id === chosen ? 'current' : null, style: `padding-left:${(u.id.split(':')[1].split('.').length - 1) * 0.8}rem` },
          link(codeUrl(file.path, u.line, u.id), u.name),
          ' ',
          h('span', { class: 'muted' }, u.kind),
        ),
      ),
    ),
  );
}

function unitPanel(context: UnitContext): HTMLElement {
  const s = context.symbol;
  const links = (items: UnitLink[], none: string) =>
    items.length === 0
      ? muted(none)
      : h('ul', null, items.map((l) => h('li', null, h('a', { href: `/code?unit=${encodeURIComponent(l.unit)}` }, l.unit), h('span', { class: 'muted' }, ` line ${l.lines.join(', ')}`))));
  return section(
    s.name,
    h('pre', { class: 'signature' }, s.signature),
    s.doc ? h('p', { class: 'doc' }, s.doc) : null,
    h('h3', null, 'Calls'),
    links(context.callees, 'No resolved calls.'),
    h('h3', null, 'Called by'),
    h('div', { class: 'callers' }, links(context.callers, 'No known callers.')),
    context.bases.length ? [h('h3', null, 'Bases'), h('p', null, context.bases.join(', '))] : null,
    context.subclasses.length ? [h('h3', null, 'Subclasses'), h('p', null, context.subclasses.join(', '))] : null,
  );
}

/// The files as folders that open and close; the open file's folders open.
function fileTree(files: FileEntry[], open: string): HTMLElement {
  interface Folder { folders: Map<string, Folder>; files: FileEntry[] }
  const root: Folder = { folders: new Map(), files: [] };
  for (const file of files) {
    const parts = file.path.split('/');
    let folder = root;
    for (const part of parts.slice(0, -1)) {
      if (!folder.folders.has(part)) folder.folders.set(part, { folders: new Map(), files: [] });
      folder = folder.folders.get(part)!;
    }
    folder.files.push(file);
  }
  const render = (folder: Folder, prefix: string): HTMLElement =>
    h(
      'ul',
      null,
      [...folder.folders].map(([name, sub]) =>
        h('li', null, h('details', { open: open.startsWith(`${prefix}${name}/`) || files.length < 40 }, h('summary', null, `${name}/`), render(sub, `${prefix}${name}/`))),
      ),
      folder.files.map((f) => h('li', { class: f.path === open ? 'current' : null }, link(codeUrl(f.path), f.path.split('/').pop() ?? f.path))),
    );
  return h('nav', { class: 'tree', 'aria-label': 'Files' }, h('h2', { class: 'hidden' }, 'Files'), render(root, ''));
}
