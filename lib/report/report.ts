/**
 * `nasx report`: one self-contained HTML file about a study — best-so-far trajectories, the Pareto
 * front and its chosen point, the importance of each decision with the per-option effects, the top
 * architectures drawn as graphs, the lineage of inherited weights, a sortable table of trials and
 * the study's settings. Plots are Vega-Lite specifications compiled to Vega here and drawn in the
 * page by the embedded Vega runtime (node_modules/vega/build/vega.min.js): no network at view time.
 *
 * The page marks itself for tests and tools: `body[data-rendered]` counts the views drawn,
 * `body[data-errors]` holds every error the page met (none expected).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { compile } from 'vega-lite';
import type { TopLevelSpec } from 'vega-lite';
import type { StudyRecord, TrialRow } from '../study/storage/storage.js';
import { nasxVersion } from '../util/version.js';
import { canonicalMetric, paretoKnee, type Objective } from './pareto.js';

const require = createRequire(import.meta.url);

/** What the report explains a study with (see lib/report/explain.ts): per decision, its share of the variance. */
export interface ReportImportance {
  objective: string;
  importances: { name: string; mean: number; low: number; high: number }[];
  effects: { decision: string; option: string; mean: number }[];
  pairs?: { names: [string, string]; mean: number }[];
}

export interface ReportInput {
  study: StudyRecord;
  trials: readonly TrialRow[];
  /** Where the study is kept (shown in the settings). */
  location?: string;
  importance?: ReportImportance[];
  /** Why there is no importance section (e.g. too few trials). */
  importanceNote?: string;
  /** Short labels of architectures (default: compact JSON). */
  label?: (arch: unknown) => string;
}

interface Finished {
  id: number;
  index: number;
  arch: unknown;
  state: string;
  score: number | null;
  params: number | null;
  flops: number | null;
  seconds: number;
  finishedAt: number;
  epochs: number | null;
  parent: number | null;
  status: string;
  objectives: Record<string, number | null> | undefined;
}

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
/** JSON safe inside a <script> element. */
const scriptJson = (v: unknown) => JSON.stringify(v).replace(/</g, '\\u003c');

function finishedTrials(trials: readonly TrialRow[]): Finished[] {
  return trials
    .filter((t) => t.result && (t.state === 'complete' || t.state === 'failed' || t.state === 'pruned'))
    .map((t) => {
      const r = t.result as Record<string, unknown> & { cost?: { params?: number; flops?: number }; fidelity?: { epochs?: number } };
      return {
        id: t.id,
        index: num(r.index) ?? t.id,
        arch: t.arch,
        state: t.state,
        score: num(t.score),
        params: num(r.cost?.params),
        flops: num(r.cost?.flops),
        seconds: num(r.seconds) ?? 0,
        finishedAt: num(r.finishedAt) ?? 0,
        epochs: num(r.epochsTrained),
        parent: num(r.parent),
        status: String(r.status ?? t.state),
        objectives: r.objectives as Record<string, number | null> | undefined,
      };
    })
    .sort((a, b) => a.index - b.index);
}

/** A Vega-Lite spec compiled to Vega, with the report's look. */
function vega(spec: Record<string, unknown>): unknown {
  return compile({ $schema: 'https://vega.github.io/schema/vega-lite/v6.json', config: { view: { stroke: null }, font: 'system-ui, sans-serif' }, ...spec } as TopLevelSpec, { logger: QUIET }).spec;
}

/** Vega-Lite's notes on how it resolved a spec (e.g. merged sort orders) are not the user's business; its errors still throw. */
interface QuietLogger {
  level(): number;
  warn(): QuietLogger;
  info(): QuietLogger;
  debug(): QuietLogger;
  error(...args: unknown[]): QuietLogger;
}
const QUIET: QuietLogger = {
  level(): number {
    return 0;
  },
  warn(): QuietLogger {
    return QUIET;
  },
  info(): QuietLogger {
    return QUIET;
  },
  debug(): QuietLogger {
    return QUIET;
  },
  error(...args: unknown[]): QuietLogger {
    throw new Error(`Vega-Lite: ${args.join(' ')}`);
  },
};

function trajectory(trials: Finished[]): unknown {
  let best = -Infinity;
  let cost = 0;
  const values = trials.map((t) => {
    cost += t.seconds;
    if (t.score !== null) best = Math.max(best, t.score);
    return { evaluation: t.index + 1, trainingSeconds: cost, best: Number.isFinite(best) ? best : null, score: t.score };
  });
  const layer = (x: string, title: string) => ({
    width: 420,
    height: 240,
    layer: [
      { mark: { type: 'point', opacity: 0.35, size: 18 }, encoding: { x: { field: x, type: 'quantitative', title }, y: { field: 'score', type: 'quantitative', title: 'score', scale: { zero: false } } } },
      { mark: { type: 'line', interpolate: 'step-after', strokeWidth: 2 }, encoding: { x: { field: x, type: 'quantitative' }, y: { field: 'best', type: 'quantitative' } } },
    ],
  });
  return vega({ data: { values }, hconcat: [layer('evaluation', 'evaluations'), layer('trainingSeconds', 'training seconds (summed over trials)')] });
}

/** The Pareto front of two objectives (the study's, or score against parameters) with its knee. */
function pareto(trials: Finished[], objectives: Objective[] | undefined): { spec: unknown; front: Finished[]; chosen: Finished | undefined; axes: [Objective, Objective] } {
  const axes: [Objective, Objective] = objectives && objectives.length >= 2 ? [objectives[0]!, objectives[1]!] : [{ name: 'accuracy', direction: 'max' }, { name: 'params', direction: 'min' }];
  const value = (t: Finished, o: Objective): number | null => {
    const m = canonicalMetric(o.name);
    if (t.objectives && o.name in t.objectives) return num(t.objectives[o.name]);
    return m === 'score' ? t.score : m === 'params' ? t.params : m === 'flops' ? t.flops : null;
  };
  const ok = trials.filter((t) => t.score !== null && value(t, axes[0]) !== null && value(t, axes[1]) !== null);
  const gains = ok.map((t) => axes.map((o) => (o.direction === 'max' ? value(t, o)! : -value(t, o)!)));
  const { front: frontIdx, knee } = paretoKnee(gains);
  const chosen = knee === undefined ? undefined : ok[knee];
  const front = new Set(frontIdx.map((i) => ok[i]!));
  const values = ok.map((t) => ({ trial: t.index + 1, x: value(t, axes[0]), y: value(t, axes[1]), kind: t === chosen ? 'chosen (knee)' : front.has(t) ? 'Pareto front' : 'dominated' }));
  const frontLine = [...front].map((t) => ({ x: value(t, axes[0]), y: value(t, axes[1]) })).sort((a, b) => a.x! - b.x!);
  const spec = vega({
    width: 560,
    height: 320,
    layer: [
      { data: { values: frontLine }, mark: { type: 'line', interpolate: 'step', color: '#999' }, encoding: { x: { field: 'x', type: 'quantitative' }, y: { field: 'y', type: 'quantitative' } } },
      {
        data: { values },
        mark: { type: 'point', filled: true },
        encoding: {
          x: { field: 'x', type: 'quantitative', title: `${axes[0].name} (${axes[0].direction})`, scale: { zero: false } },
          y: { field: 'y', type: 'quantitative', title: `${axes[1].name} (${axes[1].direction})`, scale: canonicalMetric(axes[1].name) === 'params' || canonicalMetric(axes[1].name) === 'flops' ? { type: 'log' } : { zero: false } },
          color: { field: 'kind', type: 'nominal', scale: { domain: ['dominated', 'Pareto front', 'chosen (knee)'], range: ['#bbb', '#1f77b4', '#d62728'] }, title: null },
          size: { condition: { test: "datum.kind === 'chosen (knee)'", value: 160 }, value: 40 },
          tooltip: [{ field: 'trial' }, { field: 'x', title: axes[0].name }, { field: 'y', title: axes[1].name }],
        },
      },
    ],
  });
  return { spec, front: [...front].sort((a, b) => b.index - a.index), chosen, axes };
}

function importanceSpecs(importance: ReportImportance): unknown[] {
  const bars = vega({
    width: 420,
    height: { step: 18 },
    data: { values: importance.importances.map((i) => ({ ...i })) },
    layer: [
      { mark: { type: 'bar', color: '#1f77b4' }, encoding: { y: { field: 'name', type: 'nominal', sort: { field: 'mean', order: 'descending' }, title: null }, x: { field: 'mean', type: 'quantitative', title: `share of the variance of ${importance.objective}` } } },
      { mark: { type: 'rule' }, encoding: { y: { field: 'name', type: 'nominal', sort: { field: 'mean', order: 'descending' } }, x: { field: 'low', type: 'quantitative' }, x2: { field: 'high' } } },
    ],
  });
  const effects = vega({
    data: { values: importance.effects.map((e) => ({ ...e })) },
    facet: { field: 'decision', type: 'nominal', title: null },
    columns: 3,
    spec: { width: 180, height: 120, mark: { type: 'bar', color: '#ff7f0e' }, encoding: { x: { field: 'option', type: 'nominal', title: null, sort: null }, y: { field: 'mean', type: 'quantitative', title: `mean ${importance.objective}`, scale: { zero: false } } } },
    resolve: { scale: { x: 'independent' } },
  });
  return [bars, effects];
}

/** An architecture as a graph: an MLP's layers as a chain, a NAS-Bench-201 cell as its DAG. */
function architectureGraph(arch: unknown): unknown | undefined {
  const a = arch as { type?: string; layers?: Record<string, unknown>[]; edges?: string[] };
  let nodes: { id: string; x: number; y: number; label: string }[];
  let edges: { x: number; y: number; x2: number; y2: number; label: string }[];
  if (Array.isArray(a?.layers)) {
    const labels = ['input', ...a.layers.map((l) => [l.units ?? l.filters ?? l.type ?? 'layer', l.activation, l.batchNorm ? 'bn' : '', l.residual ? 'res' : ''].filter(Boolean).join(' ')), 'output'];
    nodes = labels.map((label, i) => ({ id: String(i), x: i, y: 0, label: String(label) }));
    edges = nodes.slice(1).map((n, i) => ({ x: nodes[i]!.x, y: 0, x2: n.x, y2: 0, label: '' }));
  } else if (a?.type === 'nb201' && Array.isArray(a.edges)) {
    const pos = [
      { x: 0, y: 0 },
      { x: 1, y: 1 },
      { x: 2, y: -1 },
      { x: 3, y: 0 },
    ];
    nodes = pos.map((p, i) => ({ id: String(i), ...p, label: `node ${i}` }));
    const pairs = [[0, 1], [0, 2], [1, 2], [0, 3], [1, 3], [2, 3]] as const;
    edges = pairs
      .map(([from, to], k) => ({ x: pos[from]!.x, y: pos[from]!.y, x2: pos[to]!.x, y2: pos[to]!.y, label: a.edges![k]! }))
      .filter((e) => e.label !== 'none');
  } else return undefined;
  const width = Math.max(260, nodes.length * 90);
  return vega({
    width,
    height: 120,
    layer: [
      { data: { values: edges }, mark: { type: 'rule', color: '#888' }, encoding: { x: { field: 'x', type: 'quantitative', axis: null }, y: { field: 'y', type: 'quantitative', axis: null }, x2: { field: 'x2' }, y2: { field: 'y2' } } },
      {
        data: { values: edges.filter((e) => e.label) },
        transform: [{ calculate: '(datum.x + datum.x2) / 2', as: 'mx' }, { calculate: '(datum.y + datum.y2) / 2', as: 'my' }],
        mark: { type: 'text', fontSize: 9, color: '#555', dy: -6 },
        encoding: { x: { field: 'mx', type: 'quantitative' }, y: { field: 'my', type: 'quantitative' }, text: { field: 'label' } },
      },
      { data: { values: nodes }, mark: { type: 'circle', size: 300, color: '#1f77b4' }, encoding: { x: { field: 'x', type: 'quantitative' }, y: { field: 'y', type: 'quantitative' } } },
      { data: { values: nodes }, mark: { type: 'text', dy: 18, fontSize: 10 }, encoding: { x: { field: 'x', type: 'quantitative' }, y: { field: 'y', type: 'quantitative' }, text: { field: 'label' } } },
    ],
  });
}

/** The lineage of inherited weights as a tree (a Vega tree layout under a root for "no parent"). */
function lineage(trials: Finished[]): unknown | undefined {
  const byIndex = new Map(trials.map((t) => [t.index, t]));
  if (!trials.some((t) => t.parent !== null && byIndex.has(t.parent))) return undefined;
  const values = [{ id: 'root', parent: null, label: 'fresh', score: null }, ...trials.map((t) => ({ id: String(t.index), parent: t.parent !== null && byIndex.has(t.parent) ? String(t.parent) : 'root', label: `#${t.index + 1}`, score: t.score }))];
  return {
    $schema: 'https://vega.github.io/schema/vega/v6.json',
    width: Math.min(1100, 40 + trials.length * 14),
    height: 360,
    padding: 10,
    data: [
      { name: 'tree', values, transform: [{ type: 'stratify', key: 'id', parentKey: 'parent' }, { type: 'tree', method: 'tidy', size: [{ signal: 'width' }, { signal: 'height' }], as: ['x', 'y', 'depth', 'children'] }] },
      { name: 'links', source: 'tree', transform: [{ type: 'treelinks' }, { type: 'linkpath', orient: 'vertical', shape: 'diagonal' }] },
    ],
    scales: [{ name: 'color', type: 'linear', range: { scheme: 'viridis' }, domain: { data: 'tree', field: 'score' }, zero: false }],
    marks: [
      { type: 'path', from: { data: 'links' }, encode: { update: { path: { field: 'path' }, stroke: { value: '#bbb' } } } },
      {
        type: 'symbol',
        from: { data: 'tree' },
        encode: { update: { x: { field: 'x' }, y: { field: 'y' }, size: { value: 60 }, fill: [{ test: 'datum.score === null', value: '#ccc' }, { scale: 'color', field: 'score' }], tooltip: { signal: "{trial: datum.label, score: datum.score}" } } },
      },
    ],
  };
}

function trialsTable(trials: Finished[], label: (a: unknown) => string): string {
  const head = ['trial', 'state', 'score', 'params', 'epochs', 'seconds', 'parent', 'architecture'];
  const rows = trials
    .map((t) => {
      const cells: [string | number, string][] = [
        [t.index + 1, String(t.index + 1)],
        [t.status, t.status],
        [t.score ?? -Infinity, t.score === null ? '-' : t.score.toFixed(4)],
        [t.params ?? -1, t.params === null ? '-' : String(t.params)],
        [t.epochs ?? -1, t.epochs === null ? '-' : String(t.epochs)],
        [t.seconds, t.seconds.toFixed(2)],
        [t.parent ?? -1, t.parent === null ? '' : `#${t.parent + 1}`],
        [label(t.arch), label(t.arch)],
      ];
      return `<tr>${cells.map(([key, text]) => `<td data-key="${esc(String(key))}">${esc(text)}</td>`).join('')}</tr>`;
    })
    .join('\n');
  return `<table id="trials-table" class="sortable"><thead><tr>${head.map((h, i) => `<th data-column="${i}">${h}</th>`).join('')}</tr></thead><tbody>\n${rows}\n</tbody></table>`;
}

const STYLE = `body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:1200px;color:#222;padding:0 1rem}
h1{font-size:1.6rem}h2{font-size:1.2rem;margin-top:2.2rem;border-bottom:1px solid #ddd;padding-bottom:.3rem}
table{border-collapse:collapse;font-size:.85rem}td,th{padding:.2rem .6rem;border-bottom:1px solid #eee;text-align:left}
th{cursor:pointer;background:#f6f6f6;user-select:none}th.asc::after{content:" ▲"}th.desc::after{content:" ▼"}
.plot{margin:.6rem 0}.note{color:#666}.arch{display:inline-block;margin:0 1.2rem 1rem 0;vertical-align:top}
pre{background:#f6f6f6;padding:.6rem;overflow:auto;font-size:.8rem}`;

/** The page's own script: draws every view, sorts the table, and records what it drew and any error. */
const SCRIPT = `(function(){
var errors=[];var body=document.body;
function note(m){errors.push(String(m));body.setAttribute('data-errors',JSON.stringify(errors));}
window.addEventListener('error',function(e){note(e.message)});
var oe=console.error;console.error=function(){note(Array.prototype.join.call(arguments,' '));oe.apply(console,arguments)};
var specs=JSON.parse(document.getElementById('nasx-specs').textContent);
var els=document.querySelectorAll('[data-view]');var done=0;
body.setAttribute('data-views',String(els.length));
els.forEach(function(el){
  try{
    var view=new vega.View(vega.parse(specs[el.getAttribute('data-view')]),{renderer:'svg',container:el,hover:true});
    view.runAsync().then(function(){done++;body.setAttribute('data-rendered',String(done))},function(e){note(e&&e.message||e)});
  }catch(e){note(e&&e.message||e)}
});
if(els.length===0)body.setAttribute('data-rendered','0');
document.querySelectorAll('table.sortable th').forEach(function(th){th.addEventListener('click',function(){
  var table=th.closest('table'),i=+th.getAttribute('data-column'),asc=!th.classList.contains('asc');
  table.querySelectorAll('th').forEach(function(h){h.classList.remove('asc','desc')});th.classList.add(asc?'asc':'desc');
  var rows=Array.prototype.slice.call(table.tBodies[0].rows);
  rows.sort(function(a,b){var x=a.cells[i].getAttribute('data-key'),y=b.cells[i].getAttribute('data-key');
    var nx=parseFloat(x),ny=parseFloat(y);var c=(!isNaN(nx)&&!isNaN(ny))?nx-ny:x.localeCompare(y);return asc?c:-c});
  rows.forEach(function(r){table.tBodies[0].appendChild(r)});
})});
})();`;

/** The report as one self-contained HTML document. */
export function renderReport(input: ReportInput): string {
  const { study } = input;
  const label = input.label ?? ((a: unknown) => {
    const s = JSON.stringify(a);
    return s.length > 90 ? `${s.slice(0, 87)}...` : s;
  });
  const trials = finishedTrials(input.trials);
  const objectives = (study.options.objectives as Objective[] | undefined) ?? undefined;
  const specs: unknown[] = [];
  const view = (spec: unknown, cls = 'plot') => {
    specs.push(spec);
    return `<div class="${cls}" data-view="${specs.length - 1}"></div>`;
  };
  const ok = trials.filter((t) => t.score !== null);
  const best = ok.reduce<Finished | undefined>((b, t) => (!b || t.score! > b.score! ? t : b), undefined);
  const open = input.trials.filter((t) => t.state === 'pending' || t.state === 'running').length;
  const section = (id: string, title: string, body: string) => `<section id="${id}"><h2>${esc(title)}</h2>\n${body}\n</section>`;
  const empty = (what: string) => `<p class="note">${esc(what)}</p>`;

  const parts: string[] = [];
  parts.push(
    section(
      'trajectory',
      'Best so far',
      trials.length === 0
        ? empty('No finished trials yet.')
        : `<p>${trials.length} finished trials (${trials.length - ok.length} not ok)${open ? `, ${open} pending or running` : ''}; best score ${best ? best.score!.toFixed(4) : '-'}${best ? ` (trial ${best.index + 1})` : ''}.</p>${view(trajectory(trials))}`,
    ),
  );
  const p = pareto(trials, objectives);
  parts.push(
    section(
      'pareto',
      objectives ? `Pareto front: ${objectives.map((o) => `${o.name} (${o.direction})`).join(' vs ')}` : 'Trade-off: score against parameters',
      p.front.length === 0
        ? empty('No trial has both figures yet.')
        : `<p>${p.front.length} non-dominated trials; the chosen point (the knee, best by the equal-weight Chebyshev scalarisation): trial ${p.chosen!.index + 1}.</p>${view(p.spec)}`,
    ),
  );
  parts.push(
    section(
      'importance',
      'Why architectures win: decision importance',
      input.importance && input.importance.length > 0
        ? input.importance
            .map(
              (imp) =>
                `<h3>${esc(imp.objective)}</h3><p class="note">Functional ANOVA of a random forest fitted on the trials: each decision's share of the variance, with its interval over the forest's trees, then the mean ${esc(imp.objective)} of each option.</p>` +
                importanceSpecs(imp).map((s) => view(s)).join('') +
                (imp.pairs && imp.pairs.length > 0 ? `<p>Main interactions: ${imp.pairs.slice(0, 5).map((q) => `${esc(q.names.join(' × '))} ${(q.mean * 100).toFixed(1)}%`).join('; ')}.</p>` : ''),
            )
            .join('\n')
        : empty(input.importanceNote ?? 'Not computed for this report.'),
    ),
  );
  const top = [...ok].sort((a, b) => b.score! - a.score! || a.index - b.index).slice(0, 5);
  parts.push(
    section(
      'architectures',
      'Top architectures',
      top.length === 0
        ? empty('No successful trials yet.')
        : top
            .map((t, r) => {
              const g = architectureGraph(t.arch);
              return `<div class="arch"><div>#${r + 1}: trial ${t.index + 1}, score ${t.score!.toFixed(4)}${t.params !== null ? `, ${t.params} params` : ''}</div>${g ? view(g, 'plot graph') : `<pre>${esc(JSON.stringify(t.arch, null, 1))}</pre>`}</div>`;
            })
            .join('\n'),
    ),
  );
  const tree = lineage(trials);
  parts.push(section('lineage', 'Lineage of inherited weights', tree ? view(tree) : empty('No trial started from a parent\'s weights (the study did not use --inherit).')));
  parts.push(section('trials', 'Trials', trials.length === 0 ? empty('No finished trials yet.') : `<p class="note">Click a column to sort.</p>${trialsTable(trials, label)}`));
  const settings = { name: study.name, status: study.status, strategy: study.strategy, space: study.space, seed: study.seed, budget: study.budget, options: study.options, created: new Date(study.createdAt).toISOString(), updated: new Date(study.updatedAt).toISOString(), ...(input.location ? { storage: input.location } : {}) };
  parts.push(section('settings', 'Settings', `<pre>${esc(JSON.stringify(settings, null, 2))}</pre><p class="note">nasx ${esc(nasxVersion())}; report written ${esc(new Date().toISOString())}.</p>`));

  // The package exports its schema from build/, next to the browser bundle.
  const runtime = readFileSync(path.join(path.dirname(require.resolve('vega/vega-schema.json')), 'vega.min.js'), 'utf8').replace(/<\/script/gi, '<\\/script');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>nasx study ${esc(study.name)}</title><style>${STYLE}</style></head>
<body data-rendered="" data-errors="[]">
<h1>Study ${esc(study.name)}</h1>
<p>${esc(study.strategy)} on ${esc(study.space)}, seed ${study.seed}, status <strong>${esc(study.status)}</strong>${study.budget.evaluations !== undefined ? `, budget ${study.budget.evaluations} evaluations` : ''}.</p>
${parts.join('\n')}
<script>${runtime}</script>
<script type="application/json" id="nasx-specs">${scriptJson(specs)}</script>
<script>${SCRIPT}</script>
</body></html>
`;
}
