/**
 * The HTML report in a real browser (Debian's chromium, headless): every view is drawn, every
 * section has its elements, the page meets no error — for a study with trials and inheritance, an
 * empty study and a failed one. Where chromium is missing the tests are skipped saying so, except
 * under CI=true, where they fail.
 */
import test, { type ExecutionContext } from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SqliteStorage } from '../../lib/study/storage/sqlite.js';
import { packageRoot } from '../../lib/util/package-root.js';

const bin = path.join(packageRoot(), 'bin', 'nasx.js');
const browser = ['chromium', 'chromium-browser', 'google-chrome'].find((b) => spawnSync(b, ['--version'], { encoding: 'utf8' }).status === 0);
const missing = browser === undefined ? 'no chromium on PATH (Debian: apt-get install chromium)' : undefined;
if (missing && process.env.CI !== 'true') console.error(`Report browser tests skipped: ${missing}`);
const browserTest = (title: string, impl: (t: ExecutionContext) => Promise<void>) =>
  missing && process.env.CI !== 'true'
    ? test.skip(`${title} (skipped: ${missing})`, impl)
    : test(title, async (t) => {
        if (missing) t.fail(`CI=true, so the report tests fail instead of skipping: ${missing}`);
        else await impl(t);
      });

const flags = ['--headless=new', '--no-sandbox', '--disable-background-networking', '--disable-gpu', '--disable-dev-shm-usage', '--virtual-time-budget=15000'];

/** The page's DOM after its scripts ran, and a screenshot of it. */
function render(t: ExecutionContext, html: string, dir: string): { dom: string; screenshot: string } {
  const url = `file://${html}`;
  const dom = spawnSync(browser!, [...flags, `--user-data-dir=${path.join(dir, 'profile-dom')}`, '--dump-dom', url], { encoding: 'utf8', timeout: 120_000 });
  t.is(dom.status, 0, dom.stderr);
  const screenshot = path.join(dir, 'report.png');
  const shot = spawnSync(browser!, [...flags, `--user-data-dir=${path.join(dir, 'profile-shot')}`, `--screenshot=${screenshot}`, '--window-size=1200,3000', url], { encoding: 'utf8', timeout: 120_000 });
  t.is(shot.status, 0, shot.stderr);
  return { dom: dom.stdout, screenshot };
}

function section(dom: string, id: string): string {
  const m = new RegExp(`<section id="${id}">([\\s\\S]*?)</section>`).exec(dom);
  if (!m) throw new Error(`no section #${id}`);
  return m[1]!;
}
const attr = (dom: string, name: string) => new RegExp(`<body[^>]*\\s${name}="([^"]*)"`).exec(dom)?.[1];
/** Marks Vega drew in a section: its SVG paths, symbols and text. */
const marks = (html: string) => (html.match(/<(path|text|line|rect|circle)\b/g) ?? []).length;

function checkPage(t: ExecutionContext, dom: string, screenshot: string): void {
  const views = attr(dom, 'data-views');
  t.truthy(views);
  t.is(attr(dom, 'data-rendered'), views, 'every view was drawn');
  t.is(attr(dom, 'data-errors')?.replace(/&quot;/g, '"'), '[]', 'the page met no error');
  t.true(statSync(screenshot).size > 10_000, 'a screenshot with content');
  for (const id of ['trajectory', 'pareto', 'importance', 'architectures', 'lineage', 'trials', 'settings']) t.true(section(dom, id).length > 40, `section #${id} is not empty`);
}

const scratch = (t: ExecutionContext) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'nasx-report-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
};

browserTest('the report of a study with inherited weights draws every section in a browser', async (t) => {
  const dir = scratch(t);
  const db = path.join(dir, 'nasx.db');
  const search = spawnSync(process.execPath, [bin, 'search', '--study', 's', '--storage', db, '--budget', '14', '--parallel', '2', '--epochs', '1', '--inherit', '--strategy', 'local'], { encoding: 'utf8' });
  t.is(search.status, 0, search.stderr);
  const html = path.join(dir, 'report.html');
  const r = spawnSync(process.execPath, [bin, 'report', '--study', 's', '--storage', db, '--out', html], { encoding: 'utf8' });
  t.is(r.status, 0, r.stderr);
  const source = readFileSync(html, 'utf8');
  t.false(/<script[^>]+src=|<link[^>]+href=/.test(source), 'nothing is loaded from elsewhere');
  const { dom, screenshot } = render(t, html, dir);
  checkPage(t, dom, screenshot);
  t.true(marks(section(dom, 'trajectory')) > 14, 'the trajectory plots have their points');
  t.true(marks(section(dom, 'pareto')) > 5);
  t.is((section(dom, 'architectures').match(/<svg/g) ?? []).length, 5, 'the five best drawn as graphs');
  t.true((section(dom, 'lineage').match(/<svg/g) ?? []).length === 1 && marks(section(dom, 'lineage')) > 14, 'the lineage tree is drawn');
  t.is((section(dom, 'trials').match(/<tr>/g) ?? []).length, 15, 'a header and one row per trial');
  t.regex(section(dom, 'settings'), /"strategy": "local"/);
  t.regex(section(dom, 'settings'), /nasx \d+\.\d+\.\d+/);
});

browserTest('the reports of an empty study and of a failed study render without errors', async (t) => {
  const dir = scratch(t);
  const db = path.join(dir, 'nasx.db');
  const storage = await SqliteStorage.open(db);
  await storage.createStudy({ name: 'empty', space: 'mlp', strategy: 'random', seed: 0, budget: { evaluations: 10 }, options: {}, status: 'pending' });
  await storage.createStudy({ name: 'broken', space: 'mlp', strategy: 'random', seed: 0, budget: { evaluations: 3 }, options: {}, status: 'pending' });
  await storage.transaction('broken', async (tx) => {
    const ids = await tx.insertTrials([0, 1, 2].map((i) => ({ hash: `h${i}`, arch: { type: 'mlp', layers: [{ units: 8 << i }] }, fidelity: { epochs: 1 }, state: 'running' as const, worker: 'w' })));
    await tx.finishTrials(ids.map((id) => ({ id, state: 'failed' as const, score: null, result: { index: id, status: 'failed', error: 'the engine ran out of memory', score: null, metrics: { score: null }, seconds: 0.1, epochsTrained: 0 } })));
    await tx.setStatus('failed');
  });
  await storage.close();
  for (const name of ['empty', 'broken']) {
    const html = path.join(dir, `${name}.html`);
    const r = spawnSync(process.execPath, [bin, 'report', '--study', name, '--storage', db, '--out', html], { encoding: 'utf8' });
    t.is(r.status, 0, r.stderr);
    const { dom, screenshot } = render(t, html, path.join(dir, name));
    checkPage(t, dom, screenshot);
    t.regex(section(dom, 'trajectory'), name === 'empty' ? /No finished trials yet/ : /3 finished trials \(3 not ok\)/);
    t.regex(section(dom, 'architectures'), /No successful trials yet/);
  }
  const missingStudy = spawnSync(process.execPath, [bin, 'report', '--study', 'nope', '--storage', db], { encoding: 'utf8' });
  t.is(missingStudy.status, 2);
  t.regex(missingStudy.stderr, /There is no study named "nope"/);
  const noStudy = spawnSync(process.execPath, [bin, 'report'], { encoding: 'utf8' });
  t.is(noStudy.status, 2);
  t.regex(noStudy.stderr, /nasx report needs --study NAME/);
});
