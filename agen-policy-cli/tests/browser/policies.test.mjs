// The Policies page, driven the way an administrator uses it, in the system's headless
// Chromium (never a downloaded browser). Screenshots of each view go to SCREENSHOT_DIR.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, copyFileSync, mkdirSync, writeFileSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../../..');
const bin = process.env.AGEN_POLICY_BIN ?? join(process.env.CARGO_TARGET_DIR ?? join(root, 'target'), 'debug', 'agen-policy');
const shots = process.env.SCREENSHOT_DIR ?? join(root, 'target', 'browser-screenshots');
const chromiumPath = process.env.CHROMIUM ?? '/usr/bin/chromium';
const TOKEN = 'browser-test-token-0123456789';

let server;
let base;
let browser;
let page;
let work;
let docPath;
const dialogs = [];

before(async () => {
  mkdirSync(shots, { recursive: true });
  work = mkdtempSync(join(tmpdir(), 'agen-serve-browser-'));
  docPath = join(work, 'acme.json');
  copyFileSync(join(root, 'examples', 'acme.json'), docPath);
  server = spawn(bin, ['serve', docPath, '--listen', '127.0.0.1:0', '--token', TOKEN, '--poll-ms', '200'], { stdio: ['ignore', 'pipe', 'inherit'] });
  base = await new Promise((resolveBase, reject) => {
    let out = '';
    server.stdout.on('data', (chunk) => {
      out += chunk;
      const m = /on (http:\/\/[^/\s]+)\//.exec(out);
      if (m) resolveBase(m[1]);
    });
    server.on('exit', (code) => reject(new Error(`the server exited with ${code}: ${out}`)));
  });
  // A fresh profile each run (Playwright's form of `--user-data-dir`).
  browser = await chromium.launchPersistentContext(join(work, 'profile'), {
    executablePath: chromiumPath,
    headless: true,
    viewport: { width: 1280, height: 860 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  page = await browser.newPage();
  page.on('dialog', (d) => { dialogs.push(d.message()); d.dismiss(); });
  page.on('pageerror', (e) => { throw e; });
  page.setDefaultTimeout(10_000);
});

after(async () => {
  await browser?.close();
  server?.kill();
  if (work) rmSync(work, { recursive: true, force: true });
});

const shot = (name) => page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
const rowIds = () => page.$$eval('#rows tr', (trs) => trs.map((tr) => tr.dataset.policy));
const rowNames = () => page.$$eval('#rows tr .name', (bs) => bs.map((b) => b.textContent));
const cell = (id, cls) => page.textContent(`#rows tr[data-policy="${id}"] td.${cls}`);

async function openTab(name) {
  await page.click(`#tabs [data-tab="${name}"]`);
  await page.waitForSelector(`#tab-body[data-tab="${name}"]`);
}

test('the Policies page, as an administrator uses it', async (t) => {
  await t.test('the table lists the policies, and the token comes from the link', async () => {
    await page.goto(`${base}/#token=${TOKEN}`);
    await page.waitForSelector('#rows tr');
    assert.equal((await rowIds()).length, 11);
    assert.equal(await page.evaluate(() => location.hash), '');
    assert.equal(await cell('github-read', 'users'), 'All users');
    assert.equal(await page.textContent('#rows tr[data-policy="github-read"] .badge'), 'Allow');
    await shot('policies-page');
  });

  await t.test('create a policy: the name is required, the detail opens', async () => {
    await page.click('#open-create');
    await page.waitForSelector('#create-name');
    await page.fill('#create-name', '   ');
    await page.click('#create-submit');
    await page.waitForSelector('[data-error-for="name"]:not(:empty)');
    assert.match(await page.textContent('[data-error-for="name"]'), /name/i);
    await page.fill('#create-description', 'x'.repeat(161));
    await page.click('#create-submit');
    await page.waitForSelector('[data-error-for="description"]:not(:empty)');
    await shot('create-policy-errors');
    await page.fill('#create-name', 'Drive sharing for sales');
    await page.fill('#create-description', 'Sales may share files after a fresh login');
    await page.selectOption('#create-connector', 'google_drive');
    await page.selectOption('#create-action', 'step_up');
    await page.click('#create-submit');
    await page.waitForSelector('#detail-view:not([hidden])');
    assert.equal(await page.textContent('#detail-name'), 'Drive sharing for sales');
    assert.equal(await page.textContent('#detail-badge .badge'), 'Step up');
  });

  await t.test('tools: all on, then one switched off', async () => {
    await page.waitForSelector('#tab-body[data-tab="tools"]');
    assert.equal(await page.isChecked('#tools-all'), false);
    await page.click('label[for="tools-all"]');
    const names = await page.$$eval('.tool .mono', (s) => s.map((x) => x.textContent));
    const del = names.indexOf('delete_file');
    assert.ok(del >= 0);
    await page.click(`label[for="tool-${del}"]`);
    await page.click('#save-tools');
    await page.waitForFunction((i) => document.querySelector('#tools-all')?.checked && !document.querySelector(`#tool-${i}`).checked, del);
    await shot('tab-tools');
  });

  await t.test('groups: add one from the panel, with search and checkboxes', async () => {
    await openTab('groups');
    await page.click('#add-groups');
    await page.fill('#groups-search', 'sal');
    const visible = await page.$$eval('.check-list li:not([hidden])', (lis) => lis.map((l) => l.textContent));
    assert.equal(visible.length, 1);
    assert.match(visible[0], /Sales/);
    await page.check('.check-list li:not([hidden]) input[type=checkbox]');
    await shot('panel-add-groups');
    await page.click('#add-groups-submit');
    await page.waitForSelector('#groups-members td:text("Sales")');
    await shot('tab-groups');
  });

  await t.test('users: add one', async () => {
    await openTab('users');
    await page.click('#add-users');
    await page.fill('#users-search', 'erin');
    await page.check('.check-list li:not([hidden]) input[type=checkbox]');
    await page.click('#add-users-submit');
    await page.waitForSelector('#users-members td.mono:text("erin")');
    await shot('tab-users');
  });

  await t.test('targeting: a bad value is shown at its condition, a good rule is saved', async () => {
    await openTab('targeting');
    await page.click('#add-rule');
    await page.fill('.condition .attribute', 'risk.score');
    await page.selectOption('.condition .operator', 'lt');
    await page.fill('.condition .values', 'ten');
    await page.click('#save-targeting');
    await page.waitForSelector('[data-error-for="rule-0-condition-0"]:not(:empty)');
    assert.match(await page.textContent('[data-error-for="rule-0-condition-0"]'), /number|ten/);
    await page.fill('.condition .attribute', 'agent.type');
    await page.selectOption('.condition .operator', 'equals');
    await page.fill('.condition .values', 'ChatGPT, Claude');
    await page.selectOption('#otherwise', 'deny');
    await page.click('#save-targeting');
    await page.waitForFunction(() => document.querySelector('.condition .values')?.value === 'ChatGPT, Claude'
      && !document.querySelector('[data-error-for="rule-0-condition-0"]')?.textContent);
    await shot('tab-targeting');
  });

  await t.test('settings: the all-users toggle shows the banner', async () => {
    await openTab('settings');
    assert.equal(await page.isHidden('#all-users-banner'), true);
    await page.click('label[for="settings-all-users"]');
    await page.click('#save-settings');
    await page.waitForSelector('#all-users-banner:not([hidden])');
    assert.match(await page.textContent('#all-users-banner'), /You have enabled access for all users…/);
    await shot('tab-settings');
  });

  await t.test('the table shows the change; search, filter and sort', async () => {
    await page.click('#back');
    await page.waitForSelector('#rows tr[data-policy="drive-sharing-for-sales"]');
    assert.equal(await cell('drive-sharing-for-sales', 'tools'), '3');
    assert.equal(await cell('drive-sharing-for-sales', 'groups'), '1');
    assert.equal(await cell('drive-sharing-for-sales', 'users'), 'All users');
    assert.equal(await page.textContent('#rows tr[data-policy="drive-sharing-for-sales"] .badge'), 'Step up');

    await page.fill('#search', 'may share files');
    await page.waitForFunction(() => document.querySelectorAll('#rows tr').length === 1);
    assert.deepEqual(await rowIds(), ['drive-sharing-for-sales']);
    await page.fill('#search', 'HUBSPOT');
    await page.waitForFunction(() => [...document.querySelectorAll('#rows tr')].every((tr) => tr.dataset.policy.startsWith('hubspot')));
    await page.fill('#search', '');
    await page.waitForFunction(() => document.querySelectorAll('#rows tr').length === 12);

    await page.selectOption('#action-filter', 'deny');
    await page.waitForFunction(() => [...document.querySelectorAll('#rows .badge')].every((b) => b.textContent === 'Deny'));
    assert.ok((await rowIds()).length >= 1);
    await shot('filtered-deny');
    await page.selectOption('#action-filter', '');
    await page.waitForFunction(() => document.querySelectorAll('#rows tr').length === 12);

    await page.click('#sort-name');
    await page.waitForSelector('th[aria-sort="ascending"] #sort-name');
    const names = await rowNames();
    assert.deepEqual(names, [...names].sort((a, b) => a.toLowerCase().localeCompare(b.toLowerCase())));
    await page.click('#sort-name');
    await page.waitForSelector('th[aria-sort="descending"] #sort-name');
    assert.deepEqual(await rowNames(), [...names].reverse());

    await page.click('#sort-action');
    await page.waitForSelector('th[aria-sort="ascending"] #sort-action');
    const order = ['Allow', 'Step up', 'Request approval', 'Deny'];
    const badges = await page.$$eval('#rows .badge', (bs) => bs.map((b) => b.textContent));
    const ranks = badges.map((b) => order.indexOf(b));
    assert.deepEqual(ranks, [...ranks].sort((a, b) => a - b));
    await shot('sorted-by-action');
  });

  await t.test('a name with markup shows as text', async () => {
    const evil = '<img src=x onerror=alert(1)>';
    await page.click('#open-create');
    await page.fill('#create-name', evil);
    await page.click('#create-submit');
    await page.waitForSelector('#detail-view:not([hidden])');
    assert.equal(await page.textContent('#detail-name'), evil);
    await page.click('#back');
    await page.waitForFunction((n) => [...document.querySelectorAll('#rows .name')].some((b) => b.textContent === n), evil);
    assert.equal(await page.$$eval('img', (imgs) => imgs.length), 0);
    assert.deepEqual(dialogs, []);
    await shot('markup-as-text');
  });

  await t.test('delete from the row menu', async () => {
    const id = 'img-src-x-onerror-alert-1';
    await page.click(`#rows tr[data-policy="${id}"] .kebab`);
    await page.click(`#rows tr[data-policy="${id}"] .menu button:text("Delete")`);
    await page.click('#confirm-delete');
    await page.waitForFunction((i) => !document.querySelector(`#rows tr[data-policy="${i}"]`), id);
    assert.equal((await rowIds()).length, 12);
    const saved = JSON.parse(readFileSync(docPath, 'utf8'));
    assert.equal(saved.policies.some((p) => p.id === id), false);
    assert.equal(saved.policies.some((p) => p.id === 'drive-sharing-for-sales'), true);
  });

  await t.test('try a request: the decision and its explanation', async () => {
    await page.click('#open-try');
    await page.fill('#try-user', 'alice');
    await page.selectOption('#try-connector', 'github');
    await page.selectOption('#try-tool', 'list_user_repositories');
    await page.fill('#try-context', '{"agent": {"type": "ChatGPT"}}');
    await page.click('#try-submit');
    await page.waitForSelector('#try-result .badge');
    assert.equal(await page.textContent('#try-result .badge'), 'Allow');
    assert.match(await page.textContent('#try-text'), /github-read/);
    await shot('try-a-request');
    await page.click('#panel-close');
  });

  await t.test('lint findings: a marker on the row, the panel, a link to the policy', async () => {
    const marker = '#rows tr[data-policy="drive-everyone"] .marker';
    await page.waitForSelector(marker);
    assert.equal(await page.getAttribute(marker, 'data-severity'), 'security_warning');
    assert.match(await page.getAttribute(marker, 'title'), /broad_allow/);
    await page.click(marker);
    await page.waitForSelector('#rows tr[data-policy="drive-everyone"] .marker-list:not([hidden])');
    assert.match(await page.textContent('#rows tr[data-policy="drive-everyone"] .marker-list'), /allows every tool of `google_drive`/);
    await shot('findings-marker');

    await page.click('#open-findings');
    await page.waitForSelector('#findings .finding[data-code="ungoverned_tool"]');
    assert.match(await page.textContent('#findings .finding[data-code="ungoverned_tool"]'), /google_drive\/delete_file/);
    assert.match(await page.textContent('#findings .finding[data-code="broad_allow"] .sev'), /Security warning/);
    await shot('findings-panel');
    await page.click('#findings .finding[data-code="broad_allow"] button[data-policy="drive-everyone"]');
    await page.waitForSelector('#detail-view:not([hidden])');
    assert.equal(await page.isHidden('#panel'), true);
    const saved = JSON.parse(readFileSync(docPath, 'utf8'));
    assert.equal(await page.textContent('#detail-name'), saved.policies.find((p) => p.id === 'drive-everyone').name);
    await page.click('#back');
    await page.waitForSelector('#list-view:not([hidden])');
  });

  await t.test('who has access to a tool: the decision of each principal', async () => {
    await page.click('#rows tr[data-policy="github-delete-approval"] .name');
    await page.waitForSelector('#tab-body[data-tab="tools"]');
    await page.click('.who-button[data-tool="delete_repository"]');
    const alice = '.tool[data-tool="delete_repository"] table.access tr[data-principal="alice (engineering)"]';
    await page.waitForSelector(`${alice} .piece`);
    assert.equal(await page.textContent(`${alice} .piece .badge`), 'Request approval');
    assert.match(await page.textContent(`${alice} .piece`), /when always.*github-delete-approval/);
    assert.ok(await page.$('.tool[data-tool="delete_repository"] table.access tr[data-principal="anyone else"]'));
    await shot('access-review');
    await page.click('#back');
    await page.waitForSelector('#list-view:not([hidden])');
  });

  await t.test('a broken hand edit of the file is refused and shown', async () => {
    const good = readFileSync(docPath, 'utf8');
    writeFileSync(docPath, good.replace('"action": "deny"', '"action": "maybe"'));
    await page.waitForSelector('#file-banner:not([hidden])', { timeout: 15_000 });
    assert.match(await page.textContent('#file-banner'), /does not load/);
    await shot('file-problem');
    writeFileSync(docPath, good);
    await page.waitForSelector('#file-banner', { state: 'hidden', timeout: 15_000 });
  });
});
