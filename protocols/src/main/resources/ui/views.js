// The dashboard's views, each registered in VIEWS (ui.js): overview, transfers (pushed by
// /api/events, which also keeps the overview's totals live), users, backends and history.
'use strict';

// ---- Overview: totals, the throughput chart, stored by backend, by protocol.

function showTransferred(t) {
  showBytes('bytes-in', t.bytesIn);
  showBytes('bytes-out', t.bytesOut);
  showCount('files-in', t.filesIn);
  showCount('files-out', t.filesOut);
  showCount('failed', t.failedIn + t.failedOut);
}

function showStats(s) {
  showTransferred(s.transferred);
  showBytes('stored-bytes', s.stored.bytes);
  showCount('stored-objects', s.stored.objects);
  showCount('active', s.active.length);
  show('since', new Date(s.since).toLocaleString(), s.since);
  syncRows(document.getElementById('backend-stored-rows'), Object.entries(s.stored.byBackend), 'backend',
    ([name]) => name, ([name, b]) => [textCell(name), bytesCell(b.bytes), countCell(b.objects)]);
  syncRows(document.getElementById('protocol-rows'), Object.entries(s.transferred.byProtocol), 'protocol',
    ([name]) => name, ([name, c]) => [textCell(name), bytesCell(c.bytesIn), bytesCell(c.bytesOut),
      countCell(c.filesIn), countCell(c.filesOut), countCell(c.failedIn + c.failedOut)]);
}

VIEWS.set('overview', {
  enter() {
    throughputChart.resize();
    this.stop = every(10000, async () => {
      try {
        showStats(await getJson('/api/stats'));
        await throughputChart.refresh();
        message('error', null);
      } catch (e) {
        fail(e);
      }
    });
  },
  leave() {
    this.stop();
  }
});

// ---- Transfers: the live list of /api/events, and the live totals.

function etaText(seconds) {
  return seconds == null ? '–' : clock(seconds);
}

function activeCells(a) {
  const done = a.size == null ? null : Math.min(100, Math.round((a.bytes / Math.max(a.size, 1)) * 100));
  const exact = a.bytes.toLocaleString() + (a.size == null ? '' : ' of ' + a.size.toLocaleString()) + ' bytes';
  const amount = a.size == null
    ? { text: bytes(a.bytes), title: exact }
    : barCell('progress', a.bytes, Math.max(a.size, 1), bytes(a.bytes) + ' of ' + bytes(a.size) + ' (' + done + '%)', exact);
  return [textCell(a.user), textCell(a.protocol), textCell(a.direction), textCell(a.path), amount,
    rateCell(a.speed), { text: etaText(a.etaSeconds), title: a.etaSeconds == null ? '' : a.etaSeconds + ' s' },
    textCell(a.node || '')];
}

// A transfer that ends is counted in the ledger's current minute at once: the chart shows
// it a second later rather than at its next 10 s refresh.
let endedSeen = null;
let chartDue = false;

function chartAfterEnds(t) {
  const ended = t.filesIn + t.filesOut + t.failedIn + t.failedOut;
  if (endedSeen !== null && ended !== endedSeen && !chartDue && !document.getElementById('view-overview').hidden) {
    chartDue = true;
    setTimeout(() => {
      chartDue = false;
      throughputChart.refresh().catch(fail);
    }, 1000);
  }
  endedSeen = ended;
}

function showActive(event) {
  chartAfterEnds(event.totals);
  syncRows(document.getElementById('active-rows'), event.active, 'id', (a) => a.id, activeCells);
  document.getElementById('active-empty').hidden = event.active.length > 0;
  showTransferred(event.totals);
  showCount('active', event.active.length);
  const speed = (direction) => event.active.filter((a) => a.direction === direction)
    .reduce((sum, a) => sum + a.speed, 0);
  show('now-in', rate(speed('in')), speed('in').toLocaleString() + ' bytes per second');
  show('now-out', rate(speed('out')), speed('out').toLocaleString() + ' bytes per second');
}

function setLive(text) {
  const el = document.getElementById('live-status');
  el.textContent = text;
  el.dataset.state = text;
}

/** The page's one stream of /api/events; the browser reconnects after an error by itself. */
function liveEvents() {
  const source = new EventSource('/api/events');
  source.addEventListener('open', () => setLive('live'));
  source.addEventListener('active', (e) => showActive(JSON.parse(e.data)));
  source.addEventListener('error', () => {
    if (source.readyState === EventSource.CLOSED) {
      setLive('offline');
      getJson('/ui/session').catch(fail); // a lost session goes to the login page
    } else {
      setLive('reconnecting');
    }
  });
  return source;
}

VIEWS.set('transfers', {});

// ---- Users: stored against quota, transfers, failures.

function percent(value, max) {
  return Math.round((value / Math.max(max, 1)) * 100) + '%';
}

function storedCell(stored, quota) {
  const exact = stored.toLocaleString() + ' bytes';
  if (!quota || quota.bytes == null) {
    return { text: bytes(stored) + ', no quota', title: exact };
  }
  return barCell('meter', stored, quota.bytes,
    bytes(stored) + ' of ' + bytes(quota.bytes) + ' (' + percent(stored, quota.bytes) + ')',
    exact + ' of ' + quota.bytes.toLocaleString());
}

function objectsCell(objects, quota) {
  if (!quota || quota.files == null) {
    return countCell(objects);
  }
  return barCell('meter', objects, quota.files,
    count(objects) + ' of ' + count(quota.files) + ' (' + percent(objects, quota.files) + ')',
    objects.toLocaleString() + ' of ' + quota.files.toLocaleString());
}

function userCells(u) {
  const t = u.transferred;
  return [textCell(u.name + (u.admin ? ' (admin)' : '')), storedCell(u.stored.bytes, u.quota),
    objectsCell(u.stored.objects, u.quota), countCell(t.filesIn), countCell(t.filesOut),
    countCell(t.failedIn + t.failedOut), bytesCell(t.bytesIn), bytesCell(t.bytesOut)];
}

VIEWS.set('users', {
  enter() {
    this.stop = every(10000, async () => {
      try {
        const body = await getJson('/api/users');
        syncRows(document.getElementById('user-rows'), body.users, 'user', (u) => u.name, userCells);
        message('users-error', null);
      } catch (e) {
        message('users-error', 'Cannot show the users: ' + e.message);
      }
    });
  },
  leave() {
    this.stop();
  }
});

// ---- Backends and pools (admins).

function millisCell(ms) {
  return { text: ms.toFixed(ms < 10 ? 2 : 1) + ' ms', title: ms + ' ms' };
}

function healthCell(healthy) {
  return { text: healthy ? 'healthy' : 'unhealthy', title: '', cls: healthy ? 'badge ok' : 'badge bad' };
}

function backendCells(b) {
  return [textCell(b.name), textCell(b.type), healthCell(b.healthy), millisCell(b.latencyMs.p50),
    millisCell(b.latencyMs.p99), bytesCell(b.storedBytes), countCell(b.objects), bytesCell(b.outstandingBytes),
    countCell(b.errors)];
}

/** The replication lag: "12 s", or "1:02:05" from a minute on. */
function waitCell(seconds) {
  return { text: seconds < 60 ? seconds + ' s' : clock(seconds), title: seconds.toLocaleString() + ' seconds' };
}

function poolCells(p) {
  const r = p.replication;
  return [textCell(p.name), textCell(p.policy), textCell(p.backends.join(', ')), countCell(p.replicas),
    bytesCell(p.storedBytes), countCell(p.objects), textCell(r.mode), countCell(r.pending),
    bytesCell(r.pendingBytes), waitCell(r.oldestSeconds)];
}

VIEWS.set('backends', {
  admin: true,
  enter() {
    this.stop = every(5000, async () => {
      try {
        const body = await getJson('/api/backends');
        syncRows(document.getElementById('backend-rows'), body.backends, 'backend', (b) => b.name, backendCells);
        syncRows(document.getElementById('pool-rows'), body.pools, 'pool', (p) => p.name, poolCells);
        document.getElementById('pools-empty').hidden = body.pools.length > 0;
        message('backends-error', null);
      } catch (e) {
        message('backends-error', 'Cannot show the backends: ' + e.message);
      }
    });
  },
  leave() {
    this.stop();
  }
});

// ---- History: /api/transfers with filters, 50 a page, older pages by id.

const PAGE_SIZE = 50;

/** The query of the filter form: empty fields left out, times as ISO-8601 UTC. */
function historyQuery(form) {
  const q = new URLSearchParams({ limit: String(PAGE_SIZE) });
  for (const [name, value] of new FormData(form)) {
    if (value === '') {
      continue;
    }
    q.set(name, name === 'since' || name === 'until' ? new Date(value).toISOString() : value);
  }
  return q;
}

function historyCells(t) {
  const ms = Date.parse(t.endedAt) - Date.parse(t.startedAt);
  return [timeCell(t.startedAt), textCell(t.user), textCell(t.protocol), textCell(t.direction), textCell(t.path),
    textCell(t.backend), bytesCell(t.bytes),
    { text: t.outcome, title: '', cls: t.outcome === 'failed' ? 'badge bad' : '' },
    { text: duration(ms), title: ms.toLocaleString() + ' ms, ended ' + t.endedAt }];
}

const historyView = {
  form: null,
  pages: [], // the before= of each page shown so far, the first page's null
  next: null,

  async load() {
    const q = historyQuery(this.form);
    const before = this.pages[this.pages.length - 1];
    if (before) {
      q.set('before', before);
    }
    try {
      const body = await getJson('/api/transfers?' + q);
      syncRows(document.getElementById('history-rows'), body.transfers, 'id', (t) => t.id, historyCells);
      this.next = body.next || null;
      document.getElementById('history-empty').hidden = body.transfers.length > 0;
      message('history-error', null);
    } catch (e) {
      this.next = null;
      message('history-error', 'Cannot show the history: ' + e.message);
    }
    document.getElementById('history-older').disabled = !this.next;
    document.getElementById('history-newest').disabled = this.pages.length <= 1;
    document.getElementById('history-page').textContent = 'Page ' + this.pages.length;
  },

  newest() {
    this.pages = [null];
    return this.load();
  },

  older() {
    this.pages.push(this.next);
    return this.load();
  },

  init() {
    this.form = document.getElementById('history-filter');
    this.form.addEventListener('submit', (e) => {
      e.preventDefault();
      this.newest();
    });
    document.getElementById('history-older').addEventListener('click', () => this.older());
    document.getElementById('history-newest').addEventListener('click', () => this.newest());
    this.protocols().catch((e) => message('history-error', 'Cannot list the protocols: ' + e.message));
  },

  /** The protocol filter offers the gateway's protocols: those /api/stats counts. */
  async protocols() {
    const select = document.getElementById('history-protocol');
    const s = await getJson('/api/stats');
    for (const id of Object.keys(s.transferred.byProtocol).sort()) {
      const option = document.createElement('option');
      option.value = id;
      option.textContent = id;
      select.append(option);
    }
  }
};

VIEWS.set('history', {
  enter() {
    if (!historyView.form) {
      historyView.init();
    }
    if (historyView.pages.length <= 1) {
      historyView.newest(); // the first page again: what ended since it was last shown
    }
  }
});
