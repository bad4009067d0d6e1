// Moving between views, and errors shown to the user.

import { ApiError, project, setToken, token } from './api';
import { h } from './dom';

/// Goes to `href` inside the app (keeping the chosen project).
export function go(href: string, replace = false): void {
  const url = new URL(href, location.origin);
  const chosen = project();
  if (chosen && !url.searchParams.has('project')) url.searchParams.set('project', chosen);
  if (replace) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  window.dispatchEvent(new Event('pyatlas:navigate'));
}

/// Shows an error from the API (or anywhere) to the user.
export function showError(error: unknown): void {
  const box = document.getElementById('errors');
  if (!box) return;
  const message = error instanceof Error ? error.message : String(error);
  const close = h('button', { type: 'button', 'aria-label': 'Dismiss', onclick: () => item.remove() }, '×');
  const item = h('div', { class: 'error' }, h('span', null, message), close);
  box.appendChild(item);
  if (error instanceof ApiError && error.status === 401 && !document.getElementById('token')) box.appendChild(tokenForm());
}

function tokenForm(): HTMLElement {
  const input = h('input', { id: 'token', type: 'password', autocomplete: 'off', value: token() ?? '' });
  return h(
    'form',
    {
      class: 'error token',
      onsubmit: (event: Event) => {
        event.preventDefault();
        setToken(input.value);
        window.dispatchEvent(new Event('pyatlas:navigate'));
      },
    },
    h('label', { for: 'token' }, 'Token'),
    input,
    h('button', { type: 'submit' }, 'Use'),
  );
}

