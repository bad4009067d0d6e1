// History: a project's runs, and what changed between two of them.

import { api, project } from '../api';
import { badge, codeUrl, h, link, muted, section } from '../dom';
import { go } from '../nav';
import type { ChunkRef, Project, RunDiff, RunInfo } from '../types';

export async function history(main: HTMLElement, url: URL): Promise<void> {
  const projects = await api<Project[]>('projects', { project: undefined });
  const name = project() ?? (projects.length === 1 ? projects[0].name : null);
  main.append(h('h1', null, 'History'));
  if (!name) {
    main.append(muted('Choose a project:'), h('ul', null, projects.map((p) => h('li', null, link(`/history?project=${encodeURIComponent(p.name)}`, p.name)))));
    return;
  }
  const runs = await api<RunInfo[]>(`projects/${encodeURIComponent(name)}/runs`);
  const complete = runs.filter((r) => r.status === 'complete');
  const to = Number(url.searchParams.get('to')) || complete[0]?.id;
  const from = Number(url.searchParams.get('from')) || complete.find((r) => r.id < to)?.id;
  const choose = (id: string, label: string, value: number | undefined) => [
    h('label', { for: id }, label),
    h('select', { id, name: id }, runs.map((r) => h('option', { value: r.id, selected: r.id === value }, `run ${r.id} · ${r.status} · ${when(r.started_at)}`))),
  ];
  const form = h(
    'form',
    {
      class: 'row',
      onsubmit: (event: Event) => {
        event.preventDefault();
        const data = new FormData(form);
        go(`/history?project=${encodeURIComponent(name)}&from=${data.get('from')}&to=${data.get('to')}`);
      },
    },
    choose('from', 'From', from),
    choose('to', 'to', to),
    h('button', { type: 'submit' }, 'Compare'),
  );
  main.append(
    section(
      `Runs of ${name}`,
      h(
        'table',
        null,
        h('thead', null, h('tr', null, ['Run', 'Status', 'Started', 'Finished', 'Commit'].map((t) => h('th', { scope: 'col' }, t)))),
        h('tbody', null, runs.map((r) => h('tr', null, h('td', null, r.id), h('td', null, badge(r.status)), h('td', null, when(r.started_at)), h('td', null, r.finished_at ? when(r.finished_at) : ''), h('td', null, r.git_commit?.slice(0, 12) ?? '')))),
      ),
    ),
    runs.length > 1 ? form : muted('One run so far: a diff needs two.'),
  );
  if (!from || !to || runs.length < 2) return;
  const diff = await api<RunDiff>('diff', { from, to });
  const files = (title: string, paths: string[]) => listing(title, paths, (p) => link(codeUrl(p), p));
  const chunks = (title: string, refs: ChunkRef[], linked: boolean) =>
    listing(title, refs, (c) => [linked ? link(codeUrl(c.path), c.path) : c.path, ' ', h('strong', null, c.qualnames.join(', ') || '(module)')]);
  main.append(
    h('h2', null, `From run ${diff.from} to run ${diff.to}`),
    h(
      'div',
      { class: 'grid diff' },
      files('Files added', diff.files_added),
      listing('Files removed', diff.files_removed, (p) => p),
      files('Files changed', diff.files_changed),
      chunks('Chunks changed', diff.chunks_changed, true),
      chunks('Chunks added', diff.chunks_added, true),
      chunks('Chunks removed', diff.chunks_removed, false),
      listing('Findings new', diff.findings_new, (f) => f),
      listing('Findings fixed', diff.findings_fixed, (f) => f),
    ),
  );
}

function listing<T>(title: string, items: T[], show: (item: T) => Node | string | (Node | string)[]): HTMLElement {
  return section(`${title} (${items.length})`, items.length === 0 ? muted('None.') : h('ul', null, items.map((item) => h('li', null, show(item)))));
}

/// A timestamp to the second.
function when(at: string): string {
  return at.slice(0, 19);
}
