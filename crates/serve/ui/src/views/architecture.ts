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
    section('Intent tags', tagDocs(tags)),
  );
}

/// The tags the code declares, by key: each value, where, and of what.
function tagDocs(tags: TagRow[]): HTMLElement {
  if (tags.length === 0) return muted('The code declares no intent tags.');
  const byKey = new Map<string, TagRow[]>();
  for (const tag of tags) byKey.set(tag.key, [...(byKey.get(tag.key) ?? []), tag]);
  return h(
    'dl',
    { class: 'tags' },
    [...byKey].sort(([a], [b]) => a.localeCompare(b)).map(([key, rows]) => [
      h('dt', null, badge(`@${key}`, 'tag')),
      h('dd', null, h('ul', null, rows.map((t) => h('li', null, h('code', null, t.value), ' on ', t.scope, ' at ', link(codeUrl(t.path, t.line), `${t.path}:${t.line}`))))),
    ]),
  );
}
