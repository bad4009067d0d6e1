// The overview: the run, its size, its domains, drift, contracts, the most
// central modules and the import cycles.

import { api } from '../api';
import { badge, codeUrl, h, link, muted, section } from '../dom';
import type { Cycle, DomainSummary, FileEntry, FindingRow, ProjectGraph, RunInfo } from '../types';
import { contractsSummary, type ContractsReport } from './architecture';

interface RepoMap { units: number }

export async function overview(main: HTMLElement): Promise<void> {
  const [run, files, domains, findings, contracts, graph, cycles, map] = await Promise.all([
    api<RunInfo>('run'),
    api<FileEntry[]>('files'),
    api<DomainSummary[]>('domains'),
    api<FindingRow[]>('findings'),
    api<ContractsReport | null>('contracts'),
    api<ProjectGraph>('graph'),
    api<Cycle[]>('cycles'),
    api<RepoMap>('map', { max_tokens: 256 }),
  ]);
  const lines = files.reduce((sum, f) => sum + f.lines, 0);
  const paths = new Map(graph.modules.map((m) => [m.name, m.path]));
  const moduleLink = (name: string) => {
    const path = paths.get(name);
    return path ? link(codeUrl(path), name) : h('span', null, name);
  };
  main.append(
    h('h1', null, run.project),
    h(
      'p',
      { class: 'muted' },
      `Run ${run.id}, ${run.status}`,
      run.finished_at ? `, finished ${run.finished_at}` : '',
      run.git_commit ? ` at commit ${run.git_commit.slice(0, 12)}` : '',
      ` · embedder ${run.model_id}`,
    ),
    h(
      'dl',
      { class: 'counts' },
      count('files', files.length),
      count('lines', lines),
      count('units', map.units),
      count('modules', graph.modules.length),
      count('imports', graph.imports.length),
    ),
    h(
      'div',
      { class: 'grid' },
      section('Domains', domainChart(domains)),
      section(
        'Drift',
        findings.length === 0
          ? muted('No drift findings.')
          : h('ul', null, tally(findings.map((f) => `${f.rule} (${f.severity})`)).map(([what, n]) => h('li', null, `${what}: ${n}`))),
        link('/architecture', 'All findings and contracts'),
      ),
      section('Contracts', contracts ? contractsSummary(contracts) : muted('The project declares no contracts.')),
      section(
        'Most central modules',
        h('p', { class: 'muted' }, 'PageRank over the imports.'),
        h('ol', { class: 'central' }, graph.modules.slice(0, 10).map((m) => h('li', null, moduleLink(m.name), ' ', badge(m.rank.toFixed(3))))),
      ),
      section(
        'Import cycles',
        cycles.length === 0
          ? muted('No import cycles.')
          : h('ul', null, cycles.slice(0, 20).map((c) => h('li', null, c.example.join(' → ')))),
        cycles.length > 20 ? muted(`and ${cycles.length - 20} more`) : null,
      ),
    ),
  );
}

function count(what: string, n: number): HTMLElement[] {
  return [h('dt', null, what), h('dd', null, n.toLocaleString('en'))];
}

function tally(items: string[]): [string, number][] {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(item, (counts.get(item) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
}

/// Domains as horizontal bars (chunks per domain), largest first.
function domainChart(domains: DomainSummary[]): HTMLElement {
  if (domains.length === 0) return muted('No domains.');
  const sorted = [...domains].sort((a, b) => b.chunks - a.chunks);
  const most = sorted[0].chunks || 1;
  return h(
    'table',
    { class: 'bars' },
    h('caption', { class: 'hidden' }, 'Chunks and files per domain'),
    h('thead', { class: 'hidden' }, h('tr', null, h('th', null, 'Domain'), h('th', null, 'Chunks'), h('th', null, 'Files'))),
    h(
      'tbody',
      null,
      sorted.map((d) =>
        h(
          'tr',
          null,
          h('th', { scope: 'row' }, link(`/search?domain=${encodeURIComponent(d.domain)}`, d.domain)),
          h('td', { class: 'bar' }, h('span', { style: `width:${Math.max(2, (100 * d.chunks) / most)}%` }), ` ${d.chunks}`),
          h('td', { class: 'muted' }, d.files === 1 ? '1 file' : `${d.files} files`),
        ),
      ),
    ),
  );
}
