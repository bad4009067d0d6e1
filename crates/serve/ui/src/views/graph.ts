// The graph explorer: the project's modules and their imports, laid out
// in the browser by cytoscape.js. Packages collapse to a depth; cycles are
// marked; the chain between two modules is drawn with its lines; a module
// opens in the code view.

import cytoscape from 'cytoscape';
import { api } from '../api';
import { badge, codeUrl, h, link, muted, section } from '../dom';
import { go } from '../nav';
import type { Cycle, Hop, ProjectGraph } from '../types';

/// The last graph drawn (the browser tests and the console can reach it).
declare global {
  interface Window { pyatlasGraph?: cytoscape.Core }
}

export async function graph(main: HTMLElement, url: URL): Promise<void> {
  performance.clearMarks('graph-start');
  performance.mark('graph-start');
  const p = url.searchParams;
  const depth = Number(p.get('depth')) || undefined;
  const from = p.get('from') ?? '';
  const to = p.get('to') ?? '';
  const [whole, full, cycles, chain] = await Promise.all([
    api<ProjectGraph>('graph', { squash: depth }),
    depth ? api<ProjectGraph>('graph') : null,
    api<Cycle[]>('cycles'),
    from && to ? api<Hop[] | null>('chain', { from, to }) : Promise.resolve(undefined),
  ]);
  const modules = full ?? whole;
  const present = new Set(whole.modules.map((m) => m.name));
  const drawn = (name: string) => (depth ? shown(name, depth, present) : name);
  const paths = new Map(modules.modules.map((m) => [m.name, m.path]));
  const deepest = Math.max(1, ...modules.modules.map((m) => m.name.split('.').length));

  const navigate = (changes: Record<string, string | number | undefined>) => {
    const next = new URLSearchParams(p);
    for (const [k, v] of Object.entries(changes)) {
      if (v === undefined || v === '') next.delete(k);
      else next.set(k, String(v));
    }
    go(`/graph?${next}`);
  };
  const names = h('datalist', { id: 'modules' }, modules.modules.map((m) => h('option', { value: m.name })));
  const fromInput = h('input', { id: 'from', name: 'from', list: 'modules', value: from, required: true, autocomplete: 'off' });
  const toInput = h('input', { id: 'to', name: 'to', list: 'modules', value: to, required: true, autocomplete: 'off' });
  const levels = h(
    'select',
    { id: 'depth', onchange: () => navigate({ depth: levels.value }) },
    h('option', { value: '' }, 'every module'),
    Array.from({ length: Math.min(deepest, 8) }, (_, i) => h('option', { value: i + 1, selected: depth === i + 1 }, `packages to depth ${i + 1}`)),
  );
  const controls = h(
    'div',
    { class: 'graph-controls' },
    h('label', { for: 'depth' }, 'Show'),
    levels,
    h(
      'form',
      {
        class: 'chain-form',
        onsubmit: (event: Event) => {
          event.preventDefault();
          navigate({ from: fromInput.value.trim(), to: toInput.value.trim() });
        },
      },
      h('label', { for: 'from' }, 'Chain from'),
      fromInput,
      h('label', { for: 'to' }, 'to'),
      toInput,
      h('button', { type: 'submit' }, 'Show chain'),
      names,
    ),
  );
  const canvas = h('div', { id: 'graph', class: 'graph-canvas', role: 'img', 'aria-label': `Import graph of ${whole.modules.length} modules` });
  const panel = h('aside', { class: 'graph-side' }, muted('Choose a module to see it here; double-click to open it.'));
  const chainPanel =
    chain === undefined
      ? null
      : section(
          `Chain from ${from} to ${to}`,
          chain === null
            ? muted('No chain: the first module does not import the second, directly or not.')
            : h(
                'ol',
                { class: 'chain' },
                chain.map((hop) => {
                  const path = paths.get(hop.importer);
                  return h(
                    'li',
                    null,
                    `${hop.importer} → ${hop.imported} `,
                    hop.lines.map((line) => (path ? link(codeUrl(path, line), `line ${line}`) : `line ${line}`)),
                  );
                }),
              ),
        );
  main.append(
    h('h1', null, 'Import graph'),
    h('p', { class: 'muted' }, `${whole.modules.length} modules, ${whole.imports.length} imports, ${cycles.length} ${cycles.length === 1 ? 'cycle' : 'cycles'}`),
    controls,
    chainPanel ?? '',
    h('div', { class: 'graph-layout' }, canvas, panel),
  );

  // Cycles: the modules of each, as drawn; an import inside one is marked.
  const cycleOf = new Map<string, number>();
  cycles.forEach((c, i) => c.modules.forEach((m) => cycleOf.set(drawn(m), i)));
  const onChain = new Set<string>();
  const chainEdges = new Set<string>();
  for (const hop of chain ?? []) {
    onChain.add(drawn(hop.importer));
    onChain.add(drawn(hop.imported));
    chainEdges.add(`${drawn(hop.importer)}\u0000${drawn(hop.imported)}`);
  }
  const most = whole.modules[0]?.rank ?? 1;
  const big = whole.modules.length > 150;
  const elements: cytoscape.ElementDefinition[] = [
    ...whole.modules.map((m, i) => ({
      data: { id: m.name, label: big ? m.name.split('.').pop() : m.name, size: 12 + 36 * Math.sqrt(m.rank / most), rank: m.rank, order: whole.modules.length - i },
      classes: [m.is_package ? 'package' : '', cycleOf.has(m.name) ? 'cyclic' : '', onChain.has(m.name) ? 'chain' : ''].join(' '),
    })),
    ...whole.imports.map((hop) => {
      const cyclic = cycleOf.has(hop.importer) && cycleOf.get(hop.importer) === cycleOf.get(hop.imported);
      const key = `${hop.importer}\u0000${hop.imported}`;
      return {
        data: { id: `${key}`, source: hop.importer, target: hop.imported },
        classes: [cyclic ? 'cyclic' : '', chainEdges.has(key) ? 'chain' : ''].join(' '),
      };
    }),
  ];

  main.addEventListener(
    'rendered',
    () => {
      const cy = cytoscape({
        container: canvas,
        elements,
        wheelSensitivity: 0.3,
        minZoom: 0.05,
        maxZoom: 4,
        textureOnViewport: big,
        hideEdgesOnViewport: big,
        style: [
          { selector: 'node', style: { width: 'data(size)', height: 'data(size)', 'background-color': '#4a78b5', label: 'data(label)', 'font-size': 10, color: '#222', 'min-zoomed-font-size': 8 } },
          { selector: 'node.package', style: { shape: 'round-rectangle', 'background-color': '#6c8f3d' } },
          { selector: 'node.cyclic', style: { 'border-width': 2, 'border-color': '#c0392b' } },
          { selector: 'node.chain', style: { 'background-color': '#e67e22', 'z-index': 10 } },
          { selector: 'node:selected', style: { 'border-width': 3, 'border-color': '#111' } },
          { selector: 'edge', style: { width: 1, 'line-color': '#b8c2cc', 'curve-style': big ? 'haystack' : 'bezier', 'target-arrow-shape': big ? 'none' : 'triangle', 'target-arrow-color': '#b8c2cc', opacity: 0.7 } },
          { selector: 'edge.cyclic', style: { 'line-color': '#c0392b', 'target-arrow-color': '#c0392b', opacity: 0.9 } },
          { selector: 'edge.chain', style: { width: 3, 'line-color': '#e67e22', 'target-arrow-color': '#e67e22', opacity: 1, 'z-index': 10 } },
        ],
        layout: big
          ? { name: 'concentric', concentric: (n: cytoscape.NodeSingular) => n.data('order'), levelWidth: () => Math.ceil(whole.modules.length / 8), minNodeSpacing: 4, animate: false }
          : { name: 'cose', animate: false, randomize: false, nodeRepulsion: () => 8000, idealEdgeLength: () => 60 },
      });
      window.pyatlasGraph = cy;
      // Interactive: laid out and drawn. Timed from the view's start and
      // from the page's navigation (the Performance API's time origin).
      const ready = () => {
        if (canvas.dataset.ready) return;
        performance.measure('graph-interactive', 'graph-start');
        const [measure] = performance.getEntriesByName('graph-interactive').slice(-1);
        canvas.dataset.interactiveMs = String(Math.round(measure.duration));
        canvas.dataset.sinceNavigationMs = String(Math.round(performance.now()));
        canvas.dataset.ready = 'true';
      };
      cy.one('layoutstop', () => requestAnimationFrame(ready));
      // A layout that ran synchronously has already stopped.
      requestAnimationFrame(() => requestAnimationFrame(ready));
      cy.on('tap', 'node', (event) => {
        const name: string = event.target.id();
        const path = paths.get(name);
        const level = name.split('.').length;
        panel.replaceChildren(
          section(
            name,
            h('p', null, badge(`rank ${Number(event.target.data('rank')).toFixed(4)}`), cycleOf.has(name) ? badge('in a cycle', 'error') : ''),
            h('p', null, `imports ${event.target.outgoers('node').length}, imported by ${event.target.incomers('node').length}`),
            path ? h('p', null, link(codeUrl(path), 'Open module')) : null,
            depth && level >= depth && deepest > depth ? h('button', { type: 'button', onclick: () => navigate({ depth: depth + 1 }) }, 'Expand packages') : null,
            depth && depth > 1 ? h('button', { type: 'button', onclick: () => navigate({ depth: depth - 1 }) }, 'Collapse packages') : null,
            h('button', { type: 'button', onclick: () => { fromInput.value = name; fromInput.focus(); } }, 'Chain from here'),
          ),
        );
      });
      cy.on('dbltap', 'node', (event) => {
        const path = paths.get(event.target.id());
        if (path) go(codeUrl(path));
      });
    },
    { once: true },
  );
}

/// The drawn node `name` stands for, in a graph squashed to `depth`.
function shown(name: string, depth: number, present: Set<string>): string {
  const squashed = name.split('.').slice(0, depth).join('.');
  return present.has(squashed) ? squashed : name;
}
