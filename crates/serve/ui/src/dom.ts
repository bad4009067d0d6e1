// Elements built from data: text is always set as text, never parsed as
// HTML (only highlight.js's escaped output is).

export type Child = Node | string | number | null | undefined | false | Child[];
type Attr = string | number | boolean | null | undefined | ((event: Event) => void);

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs?: Record<string, Attr> | null,
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (typeof value === 'function') el.addEventListener(name.slice(2), value);
    else if (value === true) el.setAttribute(name, '');
    else if (value !== false && value !== null && value !== undefined) el.setAttribute(name, String(value));
  }
  append(el, children);
  return el;
}

export function append(el: Node, children: Child[]): void {
  for (const child of children) {
    if (Array.isArray(child)) append(el, child);
    else if (child instanceof Node) el.appendChild(child);
    else if (child !== null && child !== undefined && child !== false) el.appendChild(document.createTextNode(String(child)));
  }
}

/// A section with a heading.
export function section(title: string, ...children: Child[]): HTMLElement {
  return h('section', { class: 'card' }, h('h2', null, title), ...children);
}

export function badge(text: string, kind = ''): HTMLElement {
  return h('span', { class: `badge ${kind}`.trim() }, text);
}

export function muted(text: string): HTMLElement {
  return h('p', { class: 'muted' }, text);
}

/// A link inside the app (the router follows it without a reload).
export function link(href: string, ...children: Child[]): HTMLAnchorElement {
  return h('a', { href }, ...children);
}

/// The URL of a file in the code view, at a line.
export function codeUrl(path: string, line?: number, unit?: string): string {
  const params = new URLSearchParams();
  if (line) params.set('line', String(line));
  if (unit) params.set('unit', unit);
  const query = params.toString();
  return `/code/${path.split('/').map(encodeURIComponent).join('/')}${query ? `?${query}` : ''}`;
}
