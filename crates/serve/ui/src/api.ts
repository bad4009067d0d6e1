// The JSON API, with its errors as exceptions the views show.

import type { ChunkKind } from './types';

export class ApiError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

const TOKEN_KEY = 'pyatlas-token';

export function token(): string | null {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function setToken(value: string): void {
  if (value) sessionStorage.setItem(TOKEN_KEY, value);
  else sessionStorage.removeItem(TOKEN_KEY);
}

/// The project the views ask about (the URL's `project`), when one is chosen.
export function project(): string | null {
  return new URLSearchParams(location.search).get('project');
}

type Params = Record<string, string | number | undefined | null>;

export function apiUrl(path: string, params: Params = {}): string {
  const query = new URLSearchParams();
  const chosen = project();
  if (chosen && !('project' in params)) query.set('project', chosen);
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== '') query.set(name, String(value));
  }
  const text = query.toString();
  return `/api/${path}${text ? `?${text}` : ''}`;
}

export function headers(extra: Record<string, string> = {}): Record<string, string> {
  const bearer = token();
  return bearer ? { ...extra, Authorization: `Bearer ${bearer}` } : extra;
}

/// GET (or `init`'s method) a JSON answer; a problem answer throws an ApiError.
export async function api<T>(path: string, params: Params = {}, init: RequestInit = {}): Promise<T> {
  const response = await fetch(apiUrl(path, params), { ...init, headers: headers(init.headers as Record<string, string>) });
  if (!response.ok) throw await problem(response);
  return (await response.json()) as T;
}

export async function problem(response: Response): Promise<ApiError> {
  let detail = response.statusText;
  try {
    const body = await response.json();
    detail = body.detail ?? body.title ?? detail;
  } catch {
    // Not a problem document: the status says it.
  }
  if (response.status === 401) detail = `${detail}: enter the server's token below`;
  return new ApiError(response.status, `${response.status}: ${detail}`);
}

/// A unit's name in a URL path segment.
export function unitPath(unit: string): string {
  return `units/${encodeURIComponent(unit)}`;
}

export function filePath(path: string): string {
  return `files/${path.split('/').map(encodeURIComponent).join('/')}`;
}

export const KINDS: ChunkKind[] = ['function', 'method', 'class', 'class_head', 'module', 'part'];
