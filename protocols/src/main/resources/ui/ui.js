// The dashboard's pages. No inline script is allowed (Content-Security-Policy), so each
// page names itself in <body data-page> and this file does the rest.
'use strict';

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

/** 1536 -> "1.5 KiB". */
function bytes(n) {
  let i = 0;
  let v = n;
  while (v >= 1024 && i < UNITS.length - 1) {
    v /= 1024;
    i++;
  }
  return (i === 0 ? String(v) : v.toFixed(v < 10 ? 2 : v < 100 ? 1 : 0)) + ' ' + UNITS[i];
}

/** 1234567 -> "1.23 M". */
function count(n) {
  if (n < 1000) {
    return String(n);
  }
  const units = ['k', 'M', 'G', 'T'];
  let i = -1;
  let v = n;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return v.toFixed(v < 10 ? 2 : v < 100 ? 1 : 0) + ' ' + units[i];
}

/** Shows a rounded value, the exact one on hover. */
function show(id, text, exact) {
  const el = document.getElementById(id);
  el.textContent = text;
  el.title = exact;
}

function showBytes(id, n) {
  show(id, bytes(n), n.toLocaleString() + ' bytes');
}

function showCount(id, n) {
  show(id, count(n), n.toLocaleString());
}

/** A JSON GET with the session; a lost session goes back to the login page. */
async function getJson(path) {
  const r = await fetch(path, { credentials: 'same-origin', headers: { Accept: 'application/json' } });
  if (r.status === 401) {
    location.assign('/ui/login');
    throw new Error('not logged in');
  }
  if (!r.ok) {
    throw new Error(path + ': ' + r.status);
  }
  return r.json();
}

function fail(e) {
  const el = document.getElementById('error');
  el.textContent = String(e.message || e);
  el.hidden = false;
}

async function overview() {
  const session = await getJson('/ui/session');
  document.getElementById('who').textContent = session.user + (session.admin ? ' (admin)' : '');
  document.getElementById('logout').addEventListener('click', async () => {
    await fetch('/ui/logout', {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'X-CSRF-Token': session.csrf }
    });
    location.assign('/ui/login');
  });
  const refresh = async () => {
    try {
      const s = await getJson('/api/stats');
      const t = s.transferred;
      showBytes('bytes-in', t.bytesIn);
      showBytes('bytes-out', t.bytesOut);
      showCount('files-in', t.filesIn);
      showCount('files-out', t.filesOut);
      showCount('failed', t.failedIn + t.failedOut);
      showBytes('stored-bytes', s.stored.bytes);
      showCount('stored-objects', s.stored.objects);
      showCount('active', s.active.length);
      show('since', new Date(s.since).toLocaleString(), s.since);
      document.getElementById('error').hidden = true;
    } catch (e) {
      fail(e);
    }
  };
  await refresh();
  setInterval(refresh, 10000);
}

function login() {
  const params = new URLSearchParams(location.search);
  const message = document.getElementById('message');
  if (params.has('failed')) {
    message.textContent = 'Unknown user or wrong password.';
    message.hidden = false;
  } else if (params.has('banned')) {
    message.textContent = 'Too many failed logins from this address; try again later.';
    message.hidden = false;
  }
}

document.addEventListener('DOMContentLoaded', () => {
  const page = document.body.dataset.page;
  if (page === 'overview') {
    overview().catch(fail);
  } else if (page === 'login') {
    login();
  }
});
