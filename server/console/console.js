/* roam console: plain JavaScript, no framework, no build step. Every value
 * from the server goes into the page as text (textContent, never HTML). */
'use strict';

const state = { csrf: null, admin: null, page: null, nodesPage: 1, stream: null, refreshTimer: null, groups: [] };
const KINDS = ['join', 'approve', 'login', 'logout', 'endpoint', 'online', 'offline', 'path', 'relay', 'admin',
  'auth_failed', 'refused'];
const PAGES = { '/': 'overview', '/nodes': 'nodes', '/groups': 'groups', '/keys': 'keys',
  '/connections': 'connections', '/events': 'events', '/login': 'login' };

const $ = (id) => document.getElementById(id);

/* el('td', {class: 'x'}, 'text', node...): text children stay text */
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === 'class') e.className = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (v !== false && v !== null && v !== undefined) e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) {
    if (c === null || c === undefined) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

function say(text, error) {
  const s = $('status');
  s.textContent = text || '';
  s.classList.toggle('error', !!error);
}

function when(t) {
  if (!t) return 'never';
  const d = new Date(t * 1000);
  return d.toISOString().replace('T', ' ').slice(0, 19) + ' UTC';
}

function ago(t, now) {
  if (!t) return 'never';
  const s = Math.max(0, Math.round((now || Date.now() / 1000) - t));
  if (s < 60) return s + ' s ago';
  if (s < 3600) return Math.round(s / 60) + ' min ago';
  if (s < 86400) return Math.round(s / 3600) + ' h ago';
  return Math.round(s / 86400) + ' days ago';
}

async function api(path, options) {
  const opts = Object.assign({ credentials: 'same-origin', headers: {} }, options || {});
  if (opts.method === 'POST') {
    opts.headers['Content-Type'] = 'application/json';
    if (state.csrf) opts.headers['X-CSRF-Token'] = state.csrf;
  }
  let res;
  try {
    res = await fetch(path, opts);
  } catch (e) {
    /* not "Failed to fetch": say what it means, and that the page comes back by itself */
    throw new Error('The server does not answer (stopped, or the network between is down). ' +
      'This page updates again when it is back.');
  }
  let body = null;
  try { body = await res.json(); } catch (e) { body = null; }
  if (res.status === 401 && path !== '/api/v1/login') {
    const why = body && body.error && body.error !== 'log in first' ? ' (' + body.error + ')' : '';
    loggedOut('Your session ended' + why + ': log in again.');
    throw new Error('logged out');
  }
  if (!res.ok) throw new Error((body && body.error) || ('HTTP ' + res.status));
  return body;
}

/* One admin operation (the same as `roam-server nodes|groups|keys ...`). */
async function op(request, done) {
  try {
    const reply = await api('/api/v1/ops', { method: 'POST', body: JSON.stringify(request) });
    say(done || 'Done.');
    refresh();
    return reply;
  } catch (e) {
    if (e.message !== 'logged out') say(e.message, true);
    return null;
  }
}

/* --- pages --- */

function show(page) {
  state.page = page;
  for (const s of document.querySelectorAll('.page')) s.hidden = s.id !== 'page-' + page;
  for (const a of document.querySelectorAll('header nav a'))
    if (a.dataset.page === page) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  $('top').hidden = page === 'login';
  document.title = (page === 'overview' ? 'Overview' : page[0].toUpperCase() + page.slice(1)) + ' - roam console';
}

function go(path, push) {
  const page = PAGES[path] || 'overview';
  if (push) history.pushState({}, '', path);
  if (!state.admin && page !== 'login') { loggedOut(); return; }
  show(page);
  refresh();
  $('main').focus();
}

function refresh() {
  const loaders = { overview: loadOverview, nodes: loadNodes, groups: loadGroups, keys: loadKeys,
    connections: loadConnections, events: loadEvents };
  const f = loaders[state.page];
  if (f) f().catch((e) => { if (e.message !== 'logged out') say(e.message, true); });
}

/* Live updates: any event refreshes the page shown, at most every 300 ms. */
function liveUpdates() {
  if (state.stream) state.stream.close();
  state.stream = new EventSource('/api/v1/stream');
  const poke = () => {
    clearTimeout(state.refreshTimer);
    state.refreshTimer = setTimeout(refresh, 300);
  };
  for (const k of KINDS) state.stream.addEventListener(k, poke);
  /* (re)connected, e.g. after the server restarted: catch up, clear the error */
  state.stream.addEventListener('open', () => { say(''); poke(); });
  /* every 5 s: the overview's live numbers, shown without a request */
  state.stream.addEventListener('load', (ev) => {
    if (state.page !== 'overview') return;
    try { showLoad(JSON.parse(ev.data)); } catch (e) { /* a bad frame: the next one comes in 5 s */ }
  });
}

function fill(tbody, rows, empty, cols) {
  tbody.replaceChildren(...rows);
  if (!rows.length) tbody.append(el('tr', {}, el('td', { colspan: cols, class: 'hint' }, empty)));
}

const card = (n, label) => el('div', { class: 'card' }, el('span', { class: 'num' }, n), el('span', { class: 'label' }, label));

/* 1234567 -> "1.2 M" */
function rate(v) {
  const units = ['', ' k', ' M', ' G'];
  let i = 0;
  while (v >= 1000 && i < units.length - 1) { v /= 1000; i++; }
  return (i ? v.toFixed(1) : Math.round(v)) + units[i];
}

function showLoad(l) {
  $('overview-load').replaceChildren(
    card(l.pairs_direct, 'pairs talking directly'), card(l.pairs_relayed, 'pairs through a relay'),
    card(rate(l.relayed_datagrams_per_s), 'datagrams/s relayed'), card(rate(l.relayed_bytes_per_s) + 'B', 'bytes/s relayed'));
  fill($('overview-relays').tBodies[0], l.relays.map((r) => el('tr', {},
    el('th', { scope: 'row' }, r.name), el('td', {}, r.online ? 'online' : 'offline'), el('td', {}, String(r.clients)),
    el('td', {}, rate(r.datagrams_per_s)), el('td', {}, rate(r.bytes_per_s) + 'B'))), 'No relay.', 5);
}

async function loadOverview() {
  const o = await api('/api/v1/overview');
  $('overview-cards').replaceChildren(
    card(o.nodes, 'nodes'), card(o.online, 'online'), card(o.offline, 'offline'),
    card(o.pending, 'waiting for approval'), card(o.via_udp, 'reach the server over UDP'),
    card(o.via_relay_link, 'over a relay link'), card(o.relays, 'relay servers'),
    card(o.relay_clients, 'nodes on relay servers'));
  showLoad(o.load);
  fill($('overview-events').tBodies[0], o.recent_events.slice().reverse().map((e) =>
    el('tr', {}, el('td', {}, when(e.time)), el('td', {}, e.kind), el('td', {}, e.node || '-'), el('td', {}, e.detail))),
  'No events yet.', 4);
}

function nodeActions(n) {
  const td = el('td', { class: 'actions' });
  const named = ' ' + n.name;
  if (n.state === 'pending')
    td.append(el('button', { type: 'button', class: 'primary', 'aria-label': 'Approve' + named,
      onclick: () => op({ op: 'nodes.approve', node: n.name }, n.name + ' approved.') }, 'Approve'));
  td.append(el('button', { type: 'button', 'aria-label': 'Rename' + named, onclick: () => {
    const to = prompt('New name for ' + n.name + ':', n.name);
    if (to && to !== n.name) op({ op: 'nodes.rename', node: n.name, new_name: to }, n.name + ' is now ' + to + '.');
  } }, 'Rename'));
  if (n.state === 'approved')
    td.append(el('button', { type: 'button', 'aria-label': 'Expire' + named, onclick: () => {
      if (confirm('Expire ' + n.name + '? It is shut out until it joins again with a key.'))
        op({ op: 'nodes.expire', node: n.name }, n.name + ' expired.');
    } }, 'Expire'));
  td.append(el('button', { type: 'button', class: 'danger', 'aria-label': 'Remove' + named, onclick: () => {
    if (confirm('Remove ' + n.name + '? Its addresses are never reused.'))
      op({ op: 'nodes.remove', node: n.name }, n.name + ' removed.');
  } }, 'Remove'));
  return td;
}

async function loadNodes() {
  const q = new URLSearchParams({ q: $('nodes-q').value, state: $('nodes-state').value,
    sort: $('nodes-sort').value, page: state.nodesPage, per_page: 50 });
  const r = await api('/api/v1/nodes?' + q);
  const now = Date.now() / 1000;
  fill($('nodes-table').tBodies[0], r.nodes.map((n) => el('tr', { 'data-node': n.name },
    el('th', { scope: 'row' }, n.name),
    el('td', { class: n.state }, n.state === 'pending' ? 'waiting for approval' : n.state),
    el('td', {}, el('span', { class: n.online ? 'online' : 'offline' }, n.online ? 'online' : 'offline'),
      n.online ? (n.via ? ' via ' + n.via : '') : ', last seen ' + ago(n.last_seen, now)),
    el('td', {}, el('span', { class: 'mono' }, n.ipv4), el('br'), el('span', { class: 'mono' }, n.ipv6)),
    el('td', { class: 'mono' }, n.endpoint || '-', n.endpoint ? (n.nat ? ' (NAT)' : ' (public)') : ''),
    el('td', {}, n.groups.join(', ') || '-'),
    el('td', {}, n.expires_at ? when(n.expires_at) : 'never'),
    nodeActions(n))), 'No node matches.', 8);
  const pages = Math.max(1, Math.ceil(r.total / r.per_page));
  $('nodes-pageinfo').textContent = 'Page ' + r.page + ' of ' + pages + ' (' + r.total + ' nodes)';
  $('nodes-prev').disabled = r.page <= 1;
  $('nodes-next').disabled = r.page >= pages;
}

async function loadGroups() {
  const r = await api('/api/v1/groups');
  state.groups = r.groups.map((g) => g.name);
  /* a live update redraws the table: keep what is being typed, and the focus */
  const typed = {};
  for (const i of $('groups-table').querySelectorAll('input')) if (i.value) typed[i.getAttribute('aria-label')] = i.value;
  const focused = document.activeElement && document.activeElement.closest('#groups-table') ?
    document.activeElement.getAttribute('aria-label') : null;
  fill($('groups-table').tBodies[0], r.groups.map((g) => {
    const label = 'Node to add to ' + g.name;
    const input = el('input', { 'aria-label': label, placeholder: 'node name' });
    input.value = typed[label] || '';
    const add = el('form', { class: 'toolbar', onsubmit: (ev) => {
      ev.preventDefault();
      const node = input.value;
      input.value = ''; /* not kept by the redraw that follows */
      if (node) op({ op: 'groups.add', group: g.name, node }, node + ' added to ' + g.name + '.');
    } }, input, el('button', { type: 'submit' }, 'Add'));
    return el('tr', { 'data-group': g.name },
      el('th', { scope: 'row' }, g.name),
      el('td', {}, ...(g.members.length ? g.members.map((m) => el('span', { class: 'member' }, m,
        el('button', { type: 'button', 'aria-label': 'Remove ' + m + ' from ' + g.name,
          onclick: () => op({ op: 'groups.remove', group: g.name, node: m }, m + ' removed from ' + g.name + '.') }, '\u00d7')))
        : ['none'])),
      el('td', {}, add),
      el('td', { class: 'actions' },
        el('button', { type: 'button', 'aria-label': 'Rename group ' + g.name, onclick: () => {
          const to = prompt('New name for group ' + g.name + ':', g.name);
          if (to && to !== g.name) op({ op: 'groups.rename', group: g.name, new_name: to }, 'Group renamed.');
        } }, 'Rename'),
        el('button', { type: 'button', class: 'danger', 'aria-label': 'Delete group ' + g.name, onclick: () => {
          if (confirm('Delete group ' + g.name + '? Its members stop seeing each other through it.'))
            op({ op: 'groups.delete', group: g.name }, 'Group ' + g.name + ' deleted.');
        } }, 'Delete')));
  }), 'No groups yet: create one above.', 4);
  if (focused) for (const e of $('groups-table').querySelectorAll('[aria-label]'))
    if (e.getAttribute('aria-label') === focused) e.focus();
}

async function loadKeys() {
  const [keys, groups] = await Promise.all([api('/api/v1/keys'), api('/api/v1/groups')]);
  const box = $('key-groups');
  const checked = new Set([...box.querySelectorAll('input:checked')].map((i) => i.value));
  box.replaceChildren(...(groups.groups.length ? groups.groups.map((g) => el('label', {},
    el('input', { type: 'checkbox', value: g.name, checked: checked.has(g.name) }), g.name))
    : [el('span', { class: 'hint' }, 'No groups: nodes joining with this key see no one until you add them to one.')]));
  fill($('keys-table').tBodies[0], keys.keys.slice().reverse().map((k) => el('tr', {},
    el('th', { scope: 'row' }, '#' + k.id),
    el('td', {}, k.reusable ? 'reusable' : 'single-use'),
    el('td', { class: k.state }, k.state),
    el('td', {}, k.uses),
    el('td', {}, k.expires_at ? when(k.expires_at) : 'never'),
    el('td', {}, k.groups.join(', ') || '-'),
    el('td', { class: 'actions' }, k.state === 'valid' ? el('button', { type: 'button', class: 'danger',
      'aria-label': 'Revoke key ' + k.id, onclick: () => op({ op: 'keys.revoke', id: k.id }, 'Key ' + k.id + ' revoked.') },
    'Revoke') : null))), 'No keys yet.', 7);
}

const TRANSPORTS = { direct: 'direct UDP', 'udp-relay': 'relay UDP', 'tls-relay': 'TLS', 'websocket-relay': 'WebSocket',
  'long-poll-relay': 'long-poll', unknown: '-' };

async function loadConnections() {
  const r = await api('/api/v1/connections');
  const now = Date.now() / 1000;
  fill($('connections-table').tBodies[0], r.connections.map((c) => el('tr', {},
    el('th', { scope: 'row' }, c.node), el('td', {}, c.via), el('td', { class: 'mono' }, c.endpoint || '-'),
    el('td', {}, c.endpoint ? (c.nat ? 'behind NAT' : 'public') : '-'), el('td', {}, c.stream ? 'open' : 'none'),
    el('td', {}, ago(c.last_seen, now)))), 'No node is online.', 6);
  fill($('pairs-table').tBodies[0], (r.pairs || []).map((p) => el('tr', {},
    el('th', { scope: 'row' }, p.node), el('td', {}, p.peer), el('td', {}, p.path),
    el('td', {}, TRANSPORTS[p.transport] || p.transport), el('td', {}, p.relay || '-'),
    el('td', {}, p.rtt_ms ? p.rtt_ms + ' ms' : '-'), el('td', { title: when(p.since) }, ago(p.since, now)))),
  'No node has reported its paths yet.', 7);
}

function eventsQuery() {
  const q = new URLSearchParams({ limit: 500 });
  if ($('events-kind').value) q.set('kind', $('events-kind').value);
  if ($('events-node').value) q.set('node', $('events-node').value);
  const since = Number($('events-since').value);
  if (since) q.set('since', Math.floor(Date.now() / 1000) - since);
  return q;
}

async function loadEvents() {
  const r = await api('/api/v1/events?' + eventsQuery());
  state.events = r.events;
  fill($('events-table').tBodies[0], r.events.slice().reverse().map((e) => el('tr', { 'data-kind': e.kind },
    el('td', {}, when(e.time)), el('td', {}, e.kind), el('td', {}, e.node || '-'), el('td', {}, e.detail),
    el('td', {}, e.actor || '-'))), 'No events match.', 5);
}

/* --- session --- */

function loggedIn(session) {
  state.csrf = session.csrf;
  state.admin = session.admin;
  $('who').textContent = session.admin;
  liveUpdates();
}

function loggedOut(message) {
  state.csrf = state.admin = null;
  if (state.stream) state.stream.close();
  state.stream = null;
  if (location.pathname !== '/login') history.pushState({}, '', '/login');
  show('login');
  say(message || '');
  $('login-name').focus();
}

function wire() {
  document.addEventListener('click', (ev) => {
    const a = ev.target.closest('header nav a');
    if (!a) return;
    ev.preventDefault();
    go(a.getAttribute('href'), true);
  });
  window.addEventListener('popstate', () => go(location.pathname, false));
  $('login-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      const s = await api('/api/v1/login', { method: 'POST',
        body: JSON.stringify({ name: $('login-name').value, password: $('login-password').value }) });
      $('login-password').value = '';
      loggedIn(s);
      say('');
      go('/', true);
    } catch (e) { say(e.message, true); }
  });
  $('logout').addEventListener('click', async () => {
    try { await api('/api/v1/logout', { method: 'POST' }); } catch (e) { /* gone anyway */ }
    loggedOut('Logged out.');
  });
  let typing;
  $('nodes-q').addEventListener('input', () => { clearTimeout(typing); typing = setTimeout(() => { state.nodesPage = 1; refresh(); }, 250); });
  $('nodes-filter').addEventListener('submit', (ev) => ev.preventDefault());
  for (const id of ['nodes-state', 'nodes-sort']) $(id).addEventListener('change', () => { state.nodesPage = 1; refresh(); });
  $('nodes-prev').addEventListener('click', () => { state.nodesPage--; refresh(); });
  $('nodes-next').addEventListener('click', () => { state.nodesPage++; refresh(); });
  $('group-create').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const name = $('group-name').value;
    if (await op({ op: 'groups.create', group: name }, 'Group ' + name + ' created.')) $('group-name').value = '';
  });
  $('key-create').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const groups = [...$('key-groups').querySelectorAll('input:checked')].map((i) => i.value);
    const r = await op({ op: 'keys.create', reusable: $('key-reusable').checked,
      expires_in: Number($('key-expiry').value), groups }, 'Key created: copy the join command now, it is shown once.');
    if (r && r.join) {
      $('key-new').hidden = false;
      $('key-join').value = r.join;
      $('key-join').focus();
      $('key-join').select();
    }
  });
  $('key-copy').addEventListener('click', async () => {
    try { await navigator.clipboard.writeText($('key-join').value); say('Copied.'); }
    catch (e) { $('key-join').select(); say('Select the text and copy it (Ctrl+C).'); }
  });
  const kind = $('events-kind');
  for (const k of KINDS) kind.append(el('option', { value: k }, k));
  for (const id of ['events-kind', 'events-since']) $(id).addEventListener('change', refresh);
  $('events-node').addEventListener('input', () => { clearTimeout(typing); typing = setTimeout(refresh, 250); });
  $('events-filter').addEventListener('submit', (ev) => ev.preventDefault());
  $('events-export').addEventListener('click', () => {
    const lines = (state.events || []).map((e) => JSON.stringify(e)).join('\n') + '\n';
    const a = el('a', { href: URL.createObjectURL(new Blob([lines], { type: 'application/x-ndjson' })),
      download: 'roam-events.jsonl' });
    a.click();
    URL.revokeObjectURL(a.href);
  });
}

async function start() {
  wire();
  try {
    const res = await fetch('/api/v1/session', { credentials: 'same-origin' });
    if (res.ok) {
      loggedIn(await res.json());
      go(location.pathname === '/login' ? '/' : location.pathname, false);
      return;
    }
  } catch (e) { /* not logged in */ }
  loggedOut();
}

start();
