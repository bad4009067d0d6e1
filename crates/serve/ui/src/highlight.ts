// Python source as highlighted lines, with numbers and inline notes.

import hljs from 'highlight.js/lib/core';
import python from 'highlight.js/lib/languages/python';
import { h, type Child } from './dom';

hljs.registerLanguage('python', python);

/// highlight.js's HTML for `source`, cut into lines, each with the spans
/// open at its start reopened (a string may span lines).
export function highlightLines(source: string): string[] {
  const html = hljs.highlight(source, { language: 'python', ignoreIllegals: true }).value;
  const lines: string[] = [];
  const open: string[] = [];
  let line = '';
  for (const token of html.match(/<span[^>]*>|<\/span>|\n|[^<\n]+/g) ?? []) {
    if (token === '\n') {
      lines.push(line + '</span>'.repeat(open.length));
      line = open.join('');
    } else {
      if (token.startsWith('<span')) open.push(token);
      else if (token === '</span>') open.pop();
      line += token;
    }
  }
  lines.push(line);
  return lines;
}

export interface CodeOptions {
  /// The number of the first line.
  first?: number;
  /// The line to mark and scroll to.
  target?: number;
  /// Notes to show after a line.
  notes?: Map<number, Child[]>;
  /// Give each line an id (`L12`) and a link to itself, for the code view.
  anchors?: boolean;
  /// The URL of a line (for the line numbers), when anchors are on.
  lineUrl?: (line: number) => string;
}

export function codeBlock(source: string, options: CodeOptions = {}): HTMLElement {
  const first = options.first ?? 1;
  const text = source.endsWith('\n') ? source.slice(0, -1) : source;
  const body = h('tbody');
  highlightLines(text).forEach((html, i) => {
    const number = first + i;
    const code = h('code');
    code.innerHTML = html || ' ';
    const notes = options.notes?.get(number);
    const row = h(
      'tr',
      { id: options.anchors ? `L${number}` : null, class: number === options.target ? 'target' : null },
      h('td', { class: 'ln' }, options.anchors && options.lineUrl ? h('a', { href: options.lineUrl(number) }, number) : number),
      h('td', { class: 'src' }, code, notes ? h('div', { class: 'notes' }, notes) : null),
    );
    body.appendChild(row);
  });
  return h('div', { class: 'code-wrap' }, h('table', { class: 'code hljs' }, body));
}
