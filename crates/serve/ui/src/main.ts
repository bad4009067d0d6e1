// The router: each view at its own URL; links inside the app change the
// URL without a reload, and back, forward and reload show the same view.

import { api, project } from './api';
import { h } from './dom';
import { go, showError } from './nav';
import type { Project } from './types';
import { overview } from './views/overview';
import { search } from './views/search';
import { code } from './views/code';
import { graph } from './views/graph';
import { architecture } from './views/architecture';
import { history } from './views/history';
import { jobs } from './views/jobs';

const VIEWS: [string, string, (main: HTMLElement, url: URL) => Promise<void>][] = [
  ['/search', 'Search', search],
  ['/code', 'Code', code],
  ['/graph', 'Graph', graph],
  ['/architecture', 'Architecture', architecture],
  ['/history', 'History', history],
  ['/jobs', 'Indexing', jobs],
  ['/', 'Overview', overview],
];

let rendering = 0;

async function render(): Promise<void> {
  const id = ++rendering;
  const url = new URL(location.href);
  const [prefix, title, view] = VIEWS.find(([p]) => url.pathname === p || url.pathname.startsWith(`${p}/`)) ?? VIEWS[VIEWS.length - 1];
  document.title = `${title} · pyatlas`;
  document.getElementById('errors')?.replaceChildren();
  for (const a of document.querySelectorAll<HTMLAnchorElement>('header nav a')) {
    if (a.getAttribute('href') === prefix) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  const main = h('main', { id: 'view', tabindex: '-1', 'data-view': title.toLowerCase() });
  document.getElementById('view')?.replaceWith(main);
  main.appendChild(h('p', { class: 'muted loading' }, 'Loading…'));
  try {
    const fresh = h('div', { class: 'view' });
    await view(fresh, url);
    if (id !== rendering) return;
    main.replaceChildren(fresh);
    fresh.dispatchEvent(new Event('rendered'));
    document.body.dataset.ready = String(id);
  } catch (error) {
    if (id !== rendering) return;
    main.replaceChildren(h('p', { class: 'muted' }, 'This view could not be shown.'));
    showError(error);
    document.body.dataset.ready = String(id);
  }
}

async function projects(): Promise<void> {
  const all = await api<Project[]>('projects', { project: undefined });
  if (all.length < 2) return;
  const chosen = project() ?? '';
  const select = h(
    'select',
    { id: 'project', onchange: () => { const u = new URL(location.href); u.searchParams.set('project', select.value); go(u.toString()); } },
    h('option', { value: '' }, 'choose a project'),
    all.map((p) => h('option', { value: p.name, selected: p.name === chosen }, p.name)),
  );
  document.querySelector('header.top')?.appendChild(h('span', { class: 'project' }, h('label', { for: 'project' }, 'Project'), select));
}

function start(): void {
  document.addEventListener('click', (event) => {
    const a = (event.target as Element).closest?.('a');
    if (!a || a.target || a.hasAttribute('download') || event.defaultPrevented) return;
    if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    const url = new URL(a.href, location.href);
    if (url.origin !== location.origin || url.pathname.startsWith('/api/')) return;
    event.preventDefault();
    if (url.pathname === location.pathname && url.search === location.search && url.hash) {
      document.getElementById(url.hash.slice(1))?.scrollIntoView();
      return;
    }
    go(url.toString());
  });
  window.addEventListener('popstate', () => void render());
  window.addEventListener('pyatlas:navigate', () => void render());
  // `/` focuses the search box, from anywhere but a text field.
  document.addEventListener('keydown', (event) => {
    const field = (event.target as Element).closest?.('input, textarea, select, [contenteditable]');
    if (event.key !== '/' || field || event.ctrlKey || event.metaKey || event.altKey) return;
    event.preventDefault();
    const box = document.querySelector<HTMLInputElement>('#q') ?? document.querySelector<HTMLInputElement>('#quick-q');
    box?.focus();
    box?.select();
  });
  document.querySelector('form.quick')?.addEventListener('submit', (event) => {
    event.preventDefault();
    const q = document.querySelector<HTMLInputElement>('#quick-q')?.value.trim() ?? '';
    go(`/search?q=${encodeURIComponent(q)}`);
  });
  window.addEventListener('unhandledrejection', (event) => {
    event.preventDefault();
    showError(event.reason);
  });
  projects().catch(showError);
  void render();
}

start();
