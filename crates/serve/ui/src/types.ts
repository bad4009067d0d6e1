// The shapes of the API's answers (see /api/openapi.json).

export type ChunkKind = 'function' | 'method' | 'class' | 'class_head' | 'module' | 'part';

export interface Project { name: string; runs: number; latest_complete: number | null }
export interface RunInfo {
  id: number;
  project: string;
  status: string;
  started_at: string;
  finished_at: string | null;
  git_commit: string | null;
  model_id: string;
  dimensions: number;
  summary: Record<string, unknown>;
}
export interface SearchHit {
  id: string;
  path: string;
  qualnames: string[];
  start_line: number;
  end_line: number;
  kind: ChunkKind;
  domains: string[];
  score: number;
  text: string;
}
export interface SearchPage { hits: SearchHit[]; next_cursor: string | null }
export interface FileEntry { path: string; module: string; lines: number; content_hash: string }
export interface Symbol {
  id: string;
  path: string;
  name: string;
  kind: string;
  line: number;
  start_line: number;
  end_line: number;
  signature: string;
  doc: string | null;
}
export interface TagRow { path: string; line: number; scope: string; key: string; value: string }
export interface FindingRow { fingerprint: string; rule: string; severity: string; path: string; line: number; message: string }
export interface FileView extends FileEntry {
  source: string;
  units: Symbol[];
  domains: string[];
  tags: TagRow[];
  findings: FindingRow[];
}
export interface UnitLink { unit: string; lines: number[] }
export interface Hop { importer: string; imported: string; lines: number[] }
export interface UnitContext {
  symbol: Symbol;
  source: string;
  callers: UnitLink[];
  callees: UnitLink[];
  bases: string[];
  subclasses: string[];
  imports: Hop[];
}
export interface GraphModule { name: string; path: string | null; is_package: boolean; rank: number }
export interface ProjectGraph { squash: number | null; modules: GraphModule[]; imports: Hop[] }
export interface Cycle { modules: string[]; example: string[] }
export interface DomainSummary { domain: string; chunks: number; files: number }
export interface ChunkRef { id: string; path: string; qualnames: string[] }
export interface RunDiff {
  from: number;
  to: number;
  files_added: string[];
  files_removed: string[];
  files_changed: string[];
  chunks_added: ChunkRef[];
  chunks_removed: ChunkRef[];
  chunks_changed: ChunkRef[];
  findings_new: string[];
  findings_fixed: string[];
}
export interface JobInfo {
  id: number;
  project: string;
  root: string;
  state: string;
  cancel_requested: boolean;
  run: number | null;
  error: string | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
}
export interface JobPage { jobs: JobInfo[]; next_cursor: number | null }
export interface ServerInfo { version: string; jobs: boolean }
