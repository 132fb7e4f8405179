// The Policies page: the list, the side panel, the detail view, and keeping them current.

import { api, token, takeTokenFromUrl, ApiError } from './api.js';
import { el, clear } from './dom.js';
import { renderTable } from './table.js';
import { openCreate } from './create.js';
import { openDetail } from './detail.js';
import { openTry } from './try.js';
import { loadFindings, openFindings } from './findings.js';

const $ = (id) => document.getElementById(id);

let reloads = 0;

const ctx = {
  doc: null, // GET /api/document: version, document, operators, document_file
  findings: [], // GET /api/lint: the findings about the live document
  query: { search: '', action: '', sort: 'document', descending: false },
  detail: null, // { id, tab } while the detail view is open
  version: null, // the revision of what the page shows: every edit is based on it
  async reload() {
    // Typing in the search box starts a reload per key: only the latest one renders.
    const turn = ++reloads;
    const doc = await api('GET', '/api/document');
    if (turn !== reloads) return;
    ctx.doc = doc;
    ctx.version = ctx.doc.version;
    showFileProblem(ctx.doc.document_file);
    const q = new URLSearchParams();
    if (ctx.query.search) q.set('search', ctx.query.search);
    if (ctx.query.action) q.set('action', ctx.query.action);
    q.set('sort', ctx.query.sort);
    if (ctx.query.descending) q.set('descending', 'true');
    const [{ rows }] = await Promise.all([api('GET', `/api/policies?${q}`), loadFindings(ctx)]);
    if (turn !== reloads) return;
    renderTable(ctx, rows);
    if (ctx.detail) await openDetail(ctx, ctx.detail.id, ctx.detail.tab);
  },
  openPanel(title, body) {
    $('panel-title').textContent = title;
    clear($('panel-body')).append(body);
    $('panel').hidden = false;
    $('scrim').hidden = false;
    body.querySelector('input, select, textarea')?.focus();
  },
  closePanel() {
    $('panel').hidden = true;
    $('scrim').hidden = true;
    clear($('panel-body'));
  },
  showList() {
    ctx.detail = null;
    $('detail-view').hidden = true;
    $('list-view').hidden = false;
  },
  notify(text) {
    const n = $('notice');
    n.textContent = text;
    n.hidden = !text;
  },
  /** Runs an edit; a stale revision reloads the page's data and says so. */
  async edit(method, path, body, onError) {
    try {
      const result = await api(method, path, body, ctx.version);
      ctx.notify('');
      return result;
    } catch (e) {
      if (e instanceof ApiError && e.status === 412) {
        ctx.notify('The policies were changed elsewhere meanwhile: the page now shows the latest version. Make your change again.');
        await ctx.reload();
        return null;
      }
      if (e instanceof ApiError && e.status === 401) { askToken('The admin token was refused.'); return null; }
      if (onError) onError(e); else ctx.notify(e.message);
      return null;
    }
  },
};

function showFileProblem(problem) {
  const banner = $('file-banner');
  clear(banner);
  banner.hidden = !problem;
  if (!problem) return;
  banner.append(el('strong', { text: problem.message }));
  if (problem.problems?.length) {
    banner.append(el('ul', {}, problem.problems.map((p) => el('li', { text: `${p.code} at ${p.path || 'the root'}: ${p.message}` }))));
  }
}

function askToken(message) {
  token.clear();
  $('token-gate').hidden = false;
  $('token-error').textContent = message ?? '';
  $('token-input').focus();
}

async function start() {
  takeTokenFromUrl();
  $('token-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    token.set($('token-input').value.trim());
    $('token-gate').hidden = true;
    await boot();
  });
  $('search').addEventListener('input', () => { ctx.query.search = $('search').value; ctx.reload(); });
  $('action-filter').addEventListener('change', () => { ctx.query.action = $('action-filter').value; ctx.reload(); });
  for (const button of document.querySelectorAll('button.sort')) {
    button.addEventListener('click', () => {
      const key = button.dataset.sort;
      ctx.query.descending = ctx.query.sort === key ? !ctx.query.descending : false;
      ctx.query.sort = key;
      ctx.reload();
    });
  }
  $('open-create').addEventListener('click', () => openCreate(ctx));
  $('open-try').addEventListener('click', () => openTry(ctx));
  $('open-findings').addEventListener('click', () => openFindings(ctx).catch((e) => ctx.notify(e.message)));
  $('panel-close').addEventListener('click', () => ctx.closePanel());
  $('scrim').addEventListener('click', () => ctx.closePanel());
  document.addEventListener('keydown', (e) => { if (e.key === 'Escape') ctx.closePanel(); });
  $('back').addEventListener('click', () => { ctx.showList(); ctx.reload(); });
  await boot();
  setInterval(poll, 2000);
}

async function boot() {
  if (!token.get()) { askToken(); return; }
  try {
    await ctx.reload();
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) askToken('The admin token was refused.');
    else ctx.notify(e.message);
  }
}

/** A change made elsewhere (another administrator, a hand edit of the file) shows up here. */
async function poll() {
  if (!ctx.doc || !token.get()) return;
  try {
    const health = await (await fetch('/health')).json();
    const fileChanged = (health.document_file.ok) === Boolean(ctx.doc.document_file);
    if (health.version !== ctx.doc.version || fileChanged) {
      if ($('panel').hidden) await ctx.reload();
    }
  } catch { /* the server is away; the next poll tries again */ }
}

start();
