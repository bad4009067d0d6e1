// Indexing, on the store: start a job on an allowed folder, watch its
// progress live from the server's events, and cancel it.

import { api, apiUrl, headers, problem } from '../api';
import { badge, h, link, muted, section } from '../dom';
import { go, showError } from '../nav';
import type { JobInfo, JobPage, ServerInfo } from '../types';

export async function jobs(main: HTMLElement, url: URL): Promise<void> {
  main.append(h('h1', null, 'Indexing'));
  const server = await api<ServerInfo>('server');
  if (!server.jobs) {
    main.append(muted('This server indexes nothing: index jobs need the store backend (serve with a database and --allow-root DIR).'));
    return;
  }
  const id = Number(url.searchParams.get('job'));
  const root = h('input', { id: 'root', name: 'root', required: true, placeholder: '/path/under/an/allowed/folder', autocomplete: 'off' });
  const name = h('input', { id: 'job-project', name: 'project', placeholder: 'default: the folder name', autocomplete: 'off' });
  const form = h(
    'form',
    {
      class: 'row',
      onsubmit: async (event: Event) => {
        event.preventDefault();
        try {
          const body = JSON.stringify({ root: root.value.trim(), project: name.value.trim() || undefined });
          const job = await api<JobInfo>('jobs', { project: undefined }, { method: 'POST', body, headers: { 'Content-Type': 'application/json' } });
          go(`/jobs?job=${job.id}`);
        } catch (error) {
          showError(error);
        }
      },
    },
    h('label', { for: 'root' }, 'Folder'),
    root,
    h('label', { for: 'job-project' }, 'Project'),
    name,
    h('button', { type: 'submit' }, 'Index'),
  );
  main.append(section('Index a folder', form));
  if (id) main.append(await watch(id));
  const page = await api<JobPage>('jobs', { project: undefined, limit: 20 });
  main.append(
    section(
      'Jobs',
      page.jobs.length === 0
        ? muted('No jobs yet.')
        : h(
            'table',
            null,
            h('thead', null, h('tr', null, ['Job', 'Project', 'Folder', 'State', 'Run', 'Created'].map((t) => h('th', { scope: 'col' }, t)))),
            h('tbody', null, page.jobs.map((j) => h('tr', { 'data-job': j.id }, h('td', null, link(`/jobs?job=${j.id}`, `job ${j.id}`)), h('td', null, j.project), h('td', null, j.root), h('td', null, badge(j.state)), h('td', null, j.run ?? ''), h('td', null, j.created_at)))),
          ),
    ),
  );
}

/// One job: its state, a progress bar fed by its events, and a cancel button.
async function watch(id: number): Promise<HTMLElement> {
  const job = await api<JobInfo>(`jobs/${id}`, { project: undefined });
  const bar = h('progress', { id: 'progress', max: 1, value: 0, 'aria-label': 'Files indexed' });
  const status = h('p', { class: 'status', 'aria-live': 'polite' }, job.state);
  const log = h('ul', { class: 'events' });
  const state = h('span', { id: 'job-state' }, badge(job.state));
  const cancel = h(
    'button',
    {
      type: 'button',
      class: 'cancel',
      onclick: async () => {
        try {
          await api<JobInfo>(`jobs/${id}/cancel`, { project: undefined }, { method: 'POST' });
          status.textContent = 'cancelling…';
        } catch (error) {
          showError(error);
        }
      },
    },
    'Cancel',
  );
  const finish = (ended: JobInfo) => {
    state.replaceChildren(badge(ended.state));
    document.querySelector(`tr[data-job="${id}"] .badge`)?.replaceWith(badge(ended.state));
    cancel.remove();
    status.textContent = ended.error ? `${ended.state}: ${ended.error}` : ended.state;
    if (ended.run) status.append(' · ', link(`/?project=${encodeURIComponent(ended.project)}`, `run ${ended.run}`));
  };
  const box = section(`Job ${id}`, h('p', null, state, ` ${job.project} · ${job.root}`), bar, status, cancel, log);
  void stream(id, (event, data) => {
    if (event === 'progress') {
      bar.max = Math.max(1, data.files_total);
      bar.value = data.files_done;
      status.textContent = `${data.files_done} of ${data.files_total} files, ${data.chunks} chunks (${data.embedded} embedded, ${data.cached} cached)`;
    } else if (event === 'started') {
      bar.max = Math.max(1, data.files);
      state.replaceChildren(badge('running'));
    } else if (event === 'stage') {
      log.append(h('li', null, `stage: ${data.stage}`));
    } else if (event === 'warning') {
      log.append(h('li', { class: 'warning' }, data.message));
    } else if (event === 'end') {
      finish(data as JobInfo);
    }
  });
  return box;
}

/// Reads the job's Server-Sent Events with fetch (so that the token is
/// sent), until the stream ends or the user leaves the view.
async function stream(id: number, on: (event: string, data: any) => void): Promise<void> {
  const abort = new AbortController();
  const leave = () => abort.abort();
  window.addEventListener('pyatlas:navigate', leave, { once: true });
  window.addEventListener('popstate', leave, { once: true });
  try {
    const response = await fetch(apiUrl(`jobs/${id}/events`, { project: undefined }), { headers: headers({ Accept: 'text/event-stream' }), signal: abort.signal });
    if (!response.ok || !response.body) throw await problem(response);
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      let cut;
      while ((cut = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        let event = 'message';
        const data: string[] = [];
        for (const line of block.split('\n')) {
          if (line.startsWith('event:')) event = line.slice(6).trim();
          else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
        }
        if (event === 'error') throw new Error(`the job's events: ${data.join('\n')}`);
        if (data.length) on(event, JSON.parse(data.join('\n')));
      }
    }
  } catch (error) {
    if (!abort.signal.aborted) showError(error);
  } finally {
    window.removeEventListener('pyatlas:navigate', leave);
    window.removeEventListener('popstate', leave);
  }
}
