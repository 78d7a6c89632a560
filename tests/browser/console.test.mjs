// The console in a real browser (Debian's chromium, headless, through
// puppeteer-core): every page, live updates, the admin actions, and the
// security checks. Run by tests/integration/t_console_browser.sh inside the
// server's namespace; the environment says where things are:
//   CONSOLE_URL   https://127.0.0.1:8444
//   NODES_URL     the nodes' port (the console must not be there)
//   ADMIN_NAME, ADMIN_PASSWORD
//   HOOK          a script: `HOOK join HOST TOKEN`, `HOOK join-pending HOST`
//   REVOKED_TOKEN an API token already revoked
//   ARTIFACTS     where the screenshots go
import { execFile } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import puppeteer from 'puppeteer-core';

const env = process.env;
const URL0 = env.CONSOLE_URL;
const XSS = '<img src=x onerror=alert(1)>';
mkdirSync(env.ARTIFACTS, { recursive: true });

let step = 'start';
const say = (s) => { step = s; console.log(`[browser] ${s}`); };
const fail = (why) => { throw new Error(`${step}: ${why}`); };
const hook = (...args) => new Promise((resolve, reject) =>
  execFile('bash', [env.HOOK, ...args], (err, out, errout) => (err ? reject(new Error(`${args[0]}: ${errout || err}`)) : resolve(out))));

const browser = await puppeteer.launch({
  executablePath: '/usr/bin/chromium',
  headless: true,
  acceptInsecureCerts: true, // the server's self-signed certificate
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run', '--disable-extensions'],
});
const dialogs = [];
async function newPage(context) {
  const page = await (context || browser).newPage();
  await page.setViewport({ width: 1280, height: 800 });
  page.on('dialog', async (d) => {
    dialogs.push(`${d.type()}: ${d.message()}`);
    if (d.type() === 'prompt') await d.accept(env.PROMPT_ANSWER || '');
    else await d.accept();
  });
  page.on('pageerror', (e) => console.log(`[page error] ${e.message}`));
  return page;
}
const shot = (page, name) => page.screenshot({ path: `${env.ARTIFACTS}/${name}.png`, fullPage: true });
const visible = (page, sel) => page.waitForSelector(sel, { visible: true, timeout: 10000 });
const text = (page, sel) => page.$eval(sel, (e) => e.innerText);
async function nav(page, name) {
  await page.click(`header nav a[data-page="${name}"]`);
  await visible(page, `#page-${name}`);
}
// clicks a button in a table that live pushes redraw: the element found may
// be replaced before the click lands ("Node is detached"), so find it again
async function press(page, sel) {
  for (let i = 0; ; i++) {
    try {
      await visible(page, sel);
      await page.click(sel);
      return;
    } catch (e) {
      if (i >= 20 || !/detached|not clickable|no node/i.test(e.message)) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
// waits (no reload) until fn(document) is true in the page
const until = (page, what, fn, arg, ms = 15000) =>
  page.waitForFunction(fn, { timeout: ms, polling: 100 }, arg).catch(() => fail(`not seen within ${ms} ms: ${what}`));

try {
  const page = await newPage();

  say('the login page; every control has a label');
  await page.goto(`${URL0}/nodes`, { waitUntil: 'domcontentloaded' });
  await visible(page, '#login-form');
  const unlabelled = await page.evaluate(() => [...document.querySelectorAll('input, select, textarea')].filter((e) =>
    !(e.id && document.querySelector(`label[for="${e.id}"]`)) && !e.closest('label') && !e.getAttribute('aria-label'))
    .map((e) => e.id || e.outerHTML));
  if (unlabelled.length) fail(`controls without a label: ${unlabelled}`);
  await shot(page, 'login');

  say('log in with the keyboard only');
  await page.focus('#login-name');
  await page.keyboard.type(env.ADMIN_NAME);
  await page.keyboard.press('Tab');
  await page.keyboard.type(env.ADMIN_PASSWORD);
  await page.keyboard.press('Enter');
  await visible(page, '#page-overview');
  await until(page, 'overview cards', () => document.querySelectorAll('#overview-cards .card').length > 0);
  await shot(page, 'overview');

  say('create a group');
  await nav(page, 'groups');
  await page.type('#group-name', 'web');
  await page.keyboard.press('Enter');
  await until(page, 'group web listed', () => !!document.querySelector('tr[data-group="web"]'));

  say('create a key for it; the join command is shown');
  await nav(page, 'keys');
  await until(page, 'group web offered', () => !!document.querySelector('#key-groups input[value="web"]'));
  // a push (the group just created) may redraw the boxes: find the box again
  await press(page, '#key-groups input[value="web"]');
  await until(page, 'group web ticked', () => !!document.querySelector('#key-groups input[value="web"]:checked'));
  await page.click('#key-reusable');
  await page.click('#key-create button[type=submit]');
  await visible(page, '#key-new');
  const join = await page.$eval('#key-join', (e) => e.value);
  if (!/^roam up --server https:\/\/\S+ --token roam1\.\S+$/.test(join)) fail(`join command: ${join}`);
  await shot(page, 'keys');

  say('a lab node joins with it and shows online without a reload');
  await nav(page, 'nodes');
  const marker = await page.evaluate(() => { window.__noReload = 1; return 1; });
  await hook('join', 'q1', join.split('--token ')[1]);
  await until(page, 'q1 online', () => {
    const r = document.querySelector('tr[data-node="q1"]');
    return r && r.innerText.includes('online') && r.innerText.includes('web');
  });
  if (await page.evaluate(() => window.__noReload) !== marker) fail('the page reloaded');

  say('a node without a key waits; approve it');
  await hook('join-pending', 'p1');
  await until(page, 'p1 waiting', () => {
    const r = document.querySelector('tr[data-node="p1"]');
    return r && r.innerText.includes('waiting for approval');
  });
  await shot(page, 'nodes');
  await press(page, 'button[aria-label="Approve p1"]');
  await until(page, 'p1 approved', () => {
    const r = document.querySelector('tr[data-node="p1"]');
    return r && r.innerText.includes('approved');
  });
  await nav(page, 'groups');
  await page.type('input[aria-label="Node to add to web"]', 'p1');
  await page.keyboard.press('Enter');
  await until(page, 'p1 in web', () => document.querySelector('tr[data-group="web"]').innerText.includes('p1'));
  await shot(page, 'groups');
  await nav(page, 'nodes');
  await until(page, 'p1 online', () => {
    const r = document.querySelector('tr[data-node="p1"]');
    return r && r.innerText.includes('online');
  }, null, 30000);

  say('connections');
  await nav(page, 'connections');
  await until(page, 'q1 and p1 connected', () => {
    const t = document.querySelector('#connections-table').innerText;
    return t.includes('q1') && t.includes('p1');
  });
  await until(page, 'the nodes\' path reports', () =>
    document.querySelector('#pairs-table').innerText.includes('direct'), null, 30000);
  await until(page, 'each pair\'s transport', () =>
    document.querySelector('#pairs-table').innerText.includes('direct UDP'));
  await shot(page, 'connections');

  say('overview: pairs talking directly, relay load, pushed live');
  await nav(page, 'overview');
  await until(page, 'the load cards and relay 0', () =>
    document.querySelectorAll('#overview-load .card').length === 4 &&
    document.querySelector('#overview-relays').innerText.includes('relay 0 (this server)'));
  // the next push (every 5 s) redraws the cards without a request
  await page.evaluate(() => { document.querySelector('#overview-load').firstElementChild.dataset.old = '1'; });
  await until(page, 'the cards redrawn by a push', () => !document.querySelector('#overview-load').firstElementChild.dataset.old, null, 8000);
  const direct = await text(page, '#overview-load .card .num');
  if (!(Number(direct) >= 1)) fail(`pairs talking directly: ${direct}`);

  say('remove q1: gone from the nodes, offline (no connection)');
  await nav(page, 'nodes');
  await press(page, 'button[aria-label="Remove q1"]');
  await until(page, 'q1 gone', () => !document.querySelector('tr[data-node="q1"]'));
  await nav(page, 'connections');
  await until(page, 'q1 not connected', () => !document.querySelector('#connections-table').innerText.includes('q1'));

  say('events: filter by kind and node; a hostile name is text');
  await nav(page, 'events');
  await until(page, 'events listed', () => document.querySelectorAll('#events-table tbody tr[data-kind]').length > 3);
  if (!(await text(page, '#events-table')).includes(XSS)) fail('the failed login with a hostile name is not shown as text');
  if (await page.$('#events-table img')) fail('a name became an element');
  await page.select('#events-kind', 'admin');
  await until(page, 'only admin events', () => {
    const rows = [...document.querySelectorAll('#events-table tbody tr[data-kind]')];
    return rows.length > 0 && rows.every((r) => r.dataset.kind === 'admin');
  });
  await page.select('#events-kind', '');
  await page.type('#events-node', 'p1');
  await until(page, 'only p1 events', () => {
    const rows = [...document.querySelectorAll('#events-table tbody tr[data-kind]')];
    return rows.length > 0 && rows.every((r) => r.children[2].innerText === 'p1');
  });
  await page.click('#events-node', { clickCount: 3 });
  await page.keyboard.press('Backspace');
  await until(page, 'all events again', () => [...document.querySelectorAll('#events-table tbody tr[data-kind]')]
    .some((r) => r.children[2].innerText !== 'p1'));
  await shot(page, 'events');

  say('phone width: nothing wider than the screen');
  await page.setViewport({ width: 390, height: 844 });
  await nav(page, 'nodes');
  const wide = await page.evaluate(() => document.documentElement.scrollWidth);
  if (wide > 400) fail(`the page is ${wide} px wide on a 390 px screen`);
  await shot(page, 'nodes-phone');
  await page.setViewport({ width: 1280, height: 800 });

  say('a change without the CSRF token is refused');
  const noCsrf = await page.evaluate(async () => (await fetch('/api/v1/ops', { method: 'POST',
    body: JSON.stringify({ op: 'groups.create', group: 'evil' }) })).status);
  if (noCsrf !== 403) fail(`HTTP ${noCsrf}`);

  say('the API refuses a missing or revoked token');
  const bearer = (t) => page.evaluate(async (tok) => (await fetch('/api/v1/nodes', { credentials: 'omit',
    headers: tok ? { Authorization: `Bearer ${tok}` } : {} })).status, t);
  if ((await bearer('')) !== 401) fail('no token: not 401');
  if ((await bearer(env.REVOKED_TOKEN)) !== 401) fail('revoked token: not 401');

  say('log out; the old session is refused afterwards');
  const cookies = await browser.cookies();
  await page.click('#logout');
  await visible(page, '#login-form');
  await browser.setCookie(...cookies);
  const stale = await page.evaluate(async () => (await fetch('/api/v1/nodes')).status);
  if (stale !== 401) fail(`a logged-out session read: HTTP ${stale}`);

  say("the console is not on the nodes' port");
  const other = await newPage();
  const res = await other.goto(`${env.NODES_URL}/`, { waitUntil: 'load' }).catch(() => null);
  if (res && res.status() === 200 && await other.$('#login-form')) fail("the nodes' port serves the console");
  const login = await other.evaluate(async (u) => { try { return (await fetch(`${u}/api/v1/login`, { method: 'POST', body: '{}' })).status; } catch (e) { return 0; } }, env.NODES_URL);
  if (login === 200 || login === 401) fail(`the nodes' port answers a console login: HTTP ${login}`);

  say('wrong passwords are rate-limited');
  await page.goto(`${URL0}/`, { waitUntil: 'domcontentloaded' });
  await visible(page, '#login-form');
  await page.type('#login-name', env.ADMIN_NAME);
  let last = '';
  for (let i = 0; i < 6; i++) {
    await page.$eval('#login-password', (e) => { e.value = ''; });
    await page.type('#login-password', 'not the password');
    await page.keyboard.press('Enter');
    await until(page, 'an answer to the login', () => document.querySelector('#status').innerText !== '');
    last = await text(page, '#status');
    await page.$eval('#status', (e) => { e.textContent = ''; });
  }
  if (!/too many failed logins/.test(last)) fail(`after 6 wrong passwords: "${last}"`);

  if (dialogs.some((d) => d.startsWith('alert'))) fail(`a script ran: ${dialogs}`);
  say('ok');
} catch (e) {
  console.log(`[browser] FAIL: ${e.message}`);
  process.exitCode = 1;
} finally {
  await browser.close();
}
