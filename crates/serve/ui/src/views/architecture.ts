// Architecture: drift findings and contract verdicts with their chains,
// each linked to its line, and the intent tags the code declares.

import { api } from '../api';
import { badge, codeUrl, h, link, muted, section } from '../dom';
import type { FileEntry, FindingRow, Hop, TagRow } from '../types';

interface Violation { importer: string; imported: string; chains: Hop[][]; reason?: string }
interface ContractReport {
  id: string | null;
  name: string;
  type: string;
  kept: boolean;
  violations: Violation[];
  undeclared_modules?: string[];
  warnings: string[];
  ignored_imports: number;
}
export interface ContractsReport { contracts: ContractReport[]; files: number; dependencies: number }

export function contractsSummary(report: ContractsReport): HTMLElement {
  const kept = report.contracts.filter((c) => c.kept).length;
  return h(
    'div',
    null,
    h('p', null, badge(`${kept} kept`, 'ok'), ' ', badge(`${report.contracts.length - kept} broken`, kept === report.contracts.length ? '' : 'error')),
    h('ul', null, report.contracts.map((c) => h('li', null, c.kept ? '✓ ' : '✗ ', c.name, h('span', { class: 'muted' }, ` (${c.type})`)))),
  );
}

export async function architecture(main: HTMLElement): Promise<void> {
  const [findings, contracts, tags, files] = await Promise.all([
    api<FindingRow[]>('findings'),
    api<ContractsReport | null>('contracts'),
    api<TagRow[]>('tags'),
    api<FileEntry[]>('files'),
  ]);
  const paths = new Map(files.map((f) => [f.module, f.path]));
  const at = (module: string, line: number) => {
    const path = paths.get(module);
    return path ? link(codeUrl(path, line), `${module}:${line}`) : `${module}:${line}`;
  };
  const hop = (x: Hop) => h('li', null, `${x.importer} → ${x.imported} `, x.lines.map((line) => [at(x.importer, line), ' ']));
  main.append(
    h('h1', null, 'Architecture'),
    section(
      `Drift findings (${findings.length})`,
      findings.length === 0
        ? muted('No drift: the code does what its tags and domains declare.')
        : h(
            'table',
            { class: 'findings' },
            h('thead', null, h('tr', null, ['Rule', 'Severity', 'Where', 'What'].map((t) => h('th', { scope: 'col' }, t)))),
            h(
              'tbody',
              null,
              findings.map((f) =>
                h(
                  'tr',
                  null,
                  h('td', null, badge(f.rule)),
                  h('td', null, badge(f.severity, f.severity)),
                  h('td', null, link(codeUrl(f.path, f.line), `${f.path}:${f.line}`)),
                  h('td', null, f.message),
                ),
              ),
            ),
          ),
    ),
    section(
      'Contracts',
      contracts === null
        ? muted('The project declares no import-linter or tach contracts.')
        : [
            h('p', { class: 'muted' }, `${contracts.files} modules and ${contracts.dependencies} imports checked.`),
            ...contracts.contracts.map((c) =>
              h(
                'article',
                { class: `contract ${c.kept ? 'kept' : 'broken'}` },
                h('h3', null, c.kept ? badge('kept', 'ok') : badge('broken', 'error'), ' ', c.name, h('span', { class: 'muted' }, ` ${c.type}`)),
                c.violations.map((v) =>
                  h(
                    'div',
                    { class: 'violation' },
                    h('p', null, `${v.importer} imports ${v.imported}`, v.reason ? ` (${v.reason})` : ''),
                    v.chains.map((chain) => h('ol', { class: 'chain' }, chain.map(hop))),
                  ),
                ),
                c.warnings.map((w) => h('p', { class: 'muted' }, w)),
              ),
            ),
          ],
    ),
    section('Intent tags', tagDocs(tags, findings)),
  );
}

/// The documentation of the declared intent: every tag, where it is, on
/// what, and whether the code matches it (no finding at its line).
function tagDocs(tags: TagRow[], findings: FindingRow[]): HTMLElement {
  if (tags.length === 0) return muted('The code declares no intent tags.');
  const byTag = new Map<string, TagRow[]>();
  for (const tag of tags) {
    const name = tag.value ? `@${tag.key}:${tag.value}` : `@${tag.key}`;
    byTag.set(name, [...(byTag.get(name) ?? []), tag]);
  }
  return h(
    'div',
    { class: 'tag-docs' },
    h('p', { class: 'muted' }, `${tags.length} ${tags.length === 1 ? 'tag' : 'tags'}.`),
    [...byTag].sort(([a], [b]) => a.localeCompare(b)).map(([name, rows]) => [
      h('h3', null, badge(name, 'tag')),
      h(
        'table',
        null,
        h('thead', null, h('tr', null, ['Where', 'On', 'Matches the code'].map((t) => h('th', { scope: 'col' }, t)))),
        h(
          'tbody',
          null,
          rows.map((t) => {
            const against = findings.filter((f) => f.path === t.path && f.line === t.line);
            return h(
              'tr',
              null,
              h('td', null, link(codeUrl(t.path, t.line), `${t.path}:${t.line}`)),
              h('td', null, t.scope),
              h('td', null, against.length === 0 ? 'yes' : [h('strong', null, 'no'), ': ', against.map((f) => `${f.rule} ${f.message}`).join('; ')]),
            );
          }),
        ),
      ),
    ]),
  );
}
