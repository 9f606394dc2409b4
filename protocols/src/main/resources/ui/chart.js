// The overview's throughput chart: the last hour of GET /api/throughput drawn with uPlot,
// bytes per second in each minute, one series per protocol and direction. Its colours
// come from the page's CSS variables, so it follows the light or dark theme.
'use strict';

const MINUTE = 60;
const SERIES_VARS = ['--series-1', '--series-2', '--series-3', '--series-4', '--series-5', '--series-6'];

/** The 60 minute starts (in seconds) up to the current minute, as /api/throughput counts them. */
function lastHour() {
  const now = Math.floor(Date.now() / 1000 / MINUTE) * MINUTE;
  return Array.from({ length: 60 }, (_, i) => now - (59 - i) * MINUTE);
}

/**
 * uPlot's data from the ledger's minutes: the x values, then per series ("http in") the
 * bytes per second of each minute, 0 where the ledger has none.
 */
function throughputData(minutes) {
  const xs = lastHour();
  const index = new Map(xs.map((x, i) => [x, i]));
  const series = new Map();
  for (const m of minutes) {
    const i = index.get(Date.parse(m.minute) / 1000);
    if (i === undefined) {
      continue;
    }
    const key = m.protocol + ' ' + m.direction;
    if (!series.has(key)) {
      series.set(key, new Array(xs.length).fill(0));
    }
    series.get(key)[i] += m.bytes / MINUTE;
  }
  const keys = [...series.keys()].sort();
  return { keys, data: [xs, ...keys.map((k) => series.get(k))] };
}

function cssVar(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

/** Steps of 1, 2, 4 ... 512 times each power of 1024, so that the y axis reads 512 KiB/s, not 488 KiB/s. */
const BINARY_STEPS = [0, 1, 2, 3, 4].flatMap((p) => [1, 2, 4, 8, 16, 32, 64, 128, 256, 512].map((m) => m * 1024 ** p));

function chartOptions(keys, width) {
  const fg = cssVar('--fg');
  const line = cssVar('--line');
  const axis = { stroke: fg, grid: { stroke: line, width: 1 }, ticks: { stroke: line, width: 1 } };
  return {
    width,
    height: 260,
    scales: { x: { time: true }, y: { range: (u, min, max) => [0, Math.max(max, 1024)] } },
    series: [
      { label: 'Time' },
      ...keys.map((k, i) => ({
        label: k,
        stroke: cssVar(SERIES_VARS[i % SERIES_VARS.length]),
        width: 2,
        points: { show: false },
        value: (u, v) => rate(v)
      }))
    ],
    axes: [axis, { ...axis, size: 80, incrs: BINARY_STEPS, values: (u, splits) => splits.map(rate) }]
  };
}

/** The chart in #throughput-chart: drawn again when its series or the theme change, else given new data. */
const throughputChart = {
  plot: null,
  keys: '',

  container() {
    return document.getElementById('throughput-chart');
  },

  update(minutes) {
    const { keys, data } = throughputData(minutes);
    document.getElementById('chart-empty').hidden = keys.length > 0;
    if (this.plot && this.keys === keys.join()) {
      this.plot.setData(data);
      return;
    }
    this.destroy();
    this.keys = keys.join();
    this.plot = new uPlot(chartOptions(keys, this.container().clientWidth), data, this.container());
  },

  destroy() {
    if (this.plot) {
      this.plot.destroy();
      this.plot = null;
    }
  },

  resize() {
    if (this.plot) {
      this.plot.setSize({ width: this.container().clientWidth, height: 260 });
    }
  },

  /** Redraws with the current theme's colours. */
  restyle() {
    if (this.plot) {
      const data = this.plot.data;
      const keys = this.plot.series.slice(1).map((s) => s.label);
      this.destroy();
      this.plot = new uPlot(chartOptions(keys, this.container().clientWidth), data, this.container());
    }
  },

  async refresh() {
    this.update((await getJson('/api/throughput')).minutes);
  }
};

window.addEventListener('resize', () => throughputChart.resize());
window.matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => throughputChart.restyle());
