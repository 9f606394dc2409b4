// The dashboard's common parts: number and time formats, table rows, the JSON API, the
// session, the hash routing between views, and the login page. No inline script is
// allowed (Content-Security-Policy), so each page names itself in <body data-page> and
// the scripts do the rest; chart.js draws the throughput chart, views.js fills the views.
'use strict';

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

/** 1536 -> "1.50 KiB". */
function bytes(n) {
  let i = 0;
  let v = n;
  while (v >= 1024 && i < UNITS.length - 1) {
    v /= 1024;
    i++;
  }
  return (i === 0 ? String(Math.round(v)) : v.toFixed(v < 10 ? 2 : v < 100 ? 1 : 0)) + ' ' + UNITS[i];
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

/** Bytes per second: 1536 -> "1.50 KiB/s", none -> "–". */
function rate(v) {
  return v == null ? '–' : bytes(v) + '/s';
}

/** 75 -> "01:15", 3725 -> "1:02:05". */
function clock(seconds) {
  const s = Math.round(seconds);
  const pad = (n) => String(n).padStart(2, '0');
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return (h > 0 ? h + ':' + pad(m) : pad(m)) + ':' + pad(s % 60);
}

/** A duration in milliseconds, rounded: "250 ms", "12.3 s", "1:02:05". */
function duration(ms) {
  if (ms < 1000) {
    return ms + ' ms';
  }
  return ms < 60000 ? (ms / 1000).toFixed(1) + ' s' : clock(ms / 1000);
}

// Table cells: {text, title, cls} or {build(td)}; these make the usual ones.

function bytesCell(n) {
  return { text: bytes(n), title: n.toLocaleString() + ' bytes' };
}

function rateCell(n) {
  return { text: rate(n), title: n.toLocaleString() + ' bytes per second' };
}

function countCell(n) {
  return { text: count(n), title: n.toLocaleString() };
}

function timeCell(iso) {
  return { text: new Date(iso).toLocaleString(), title: iso };
}

function textCell(text) {
  return { text: text, title: '' };
}

/** A cell with a <progress> or <meter> bar and a text beside it. */
function barCell(kind, value, max, text, title) {
  return {
    build(td) {
      let bar = td.querySelector(kind);
      let label = td.querySelector('span');
      if (!bar || !label) {
        bar = document.createElement(kind);
        label = document.createElement('span');
        td.replaceChildren(bar, label);
      }
      bar.max = max;
      bar.value = value;
      label.textContent = text;
      td.title = title;
    }
  };
}

/** Fills a row's cells; the first is the row's header. */
function fillRow(tr, cells) {
  if (tr.cells.length !== cells.length) {
    tr.replaceChildren(...cells.map((c, i) => {
      const cell = document.createElement(i === 0 ? 'th' : 'td');
      if (i === 0) {
        cell.scope = 'row';
      }
      return cell;
    }));
  }
  cells.forEach((c, i) => {
    const td = tr.cells[i];
    td.className = c.cls || '';
    if (c.build) {
      c.build(td);
    } else {
      td.textContent = c.text;
      td.title = c.title;
    }
  });
}

/**
 * Makes tbody's rows those of items, in order: a row per item, found again by its
 * data-NAME attribute (so rows keep their place and hover while they update).
 */
function syncRows(tbody, items, name, keyOf, cellsOf) {
  const old = new Map([...tbody.rows].map((tr) => [tr.dataset[name], tr]));
  const rows = items.map((item) => {
    const key = String(keyOf(item));
    let tr = old.get(key);
    if (!tr) {
      tr = document.createElement('tr');
      tr.dataset[name] = key;
    }
    fillRow(tr, cellsOf(item));
    return tr;
  });
  tbody.replaceChildren(...rows);
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

/** Shows a message in the element of that id, or hides it when message is null. */
function message(id, text) {
  const el = document.getElementById(id);
  el.textContent = text || '';
  el.hidden = !text;
}

/** A JSON GET with the session; a lost session goes back to the login page. */
async function getJson(path) {
  const r = await fetch(path, { credentials: 'same-origin', headers: { Accept: 'application/json' } });
  if (r.status === 401) {
    location.assign('/ui/login');
    throw new Error('not logged in');
  }
  if (!r.ok) {
    const body = await r.json().catch(() => ({}));
    throw new Error(path + ': ' + r.status + (body.message ? ' ' + body.message : ''));
  }
  return r.json();
}

function fail(e) {
  message('error', String(e.message || e));
}

/**
 * The views, by name: each may have enter() (shown; start polling), leave() (hidden;
 * stop) and admin (only for admins). views.js registers them.
 */
const VIEWS = new Map();

const router = {
  current: null,
  admin: false,

  /** The view the hash names, or the overview. */
  target() {
    const name = location.hash.slice(1);
    const view = VIEWS.get(name);
    return view && (!view.admin || this.admin) ? name : 'overview';
  },

  go() {
    const name = this.target();
    if (name === this.current) {
      return;
    }
    const previous = VIEWS.get(this.current);
    if (previous && previous.leave) {
      previous.leave();
    }
    this.current = name;
    for (const [n] of VIEWS) {
      document.getElementById('view-' + n).hidden = n !== name;
    }
    for (const a of document.querySelectorAll('nav a')) {
      if (a.getAttribute('href') === '#' + name) {
        a.setAttribute('aria-current', 'page');
      } else {
        a.removeAttribute('aria-current');
      }
    }
    const view = VIEWS.get(name);
    if (view.enter) {
      view.enter();
    }
  },

  start(admin) {
    this.admin = admin;
    window.addEventListener('hashchange', () => this.go());
    this.go();
  }
};

/** Runs task now and every ms milliseconds until the returned function is called. */
function every(ms, task) {
  task();
  const timer = setInterval(task, ms);
  return () => clearInterval(timer);
}

async function dashboard() {
  const session = await getJson('/ui/session');
  document.getElementById('who').textContent = session.user + (session.admin ? ' (admin)' : '');
  document.getElementById('nav-backends').hidden = !session.admin;
  document.getElementById('history-user-field').hidden = !session.admin;
  const live = liveEvents();
  document.getElementById('logout').addEventListener('click', async () => {
    live.close();
    await fetch('/ui/logout', {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'X-CSRF-Token': session.csrf }
    });
    location.assign('/ui/login');
  });
  router.start(session.admin);
}

function login() {
  const params = new URLSearchParams(location.search);
  if (params.has('failed')) {
    message('message', 'Unknown user or wrong password.');
  } else if (params.has('banned')) {
    message('message', 'Too many failed logins from this address; try again later.');
  }
}

document.addEventListener('DOMContentLoaded', () => {
  const page = document.body.dataset.page;
  if (page === 'overview') {
    dashboard().catch(fail);
  } else if (page === 'login') {
    login();
  }
});
