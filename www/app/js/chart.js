// chart.js: stacked bar chart in our own SVG (no library), with a data table for screen
// readers (the SVG is aria-hidden; the table is visually hidden but read).
import { h } from './ui.js';

const NS = 'http://www.w3.org/2000/svg';
function s(tag, attrs, ...kids) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, v);
  for (const k of kids) if (k) el.append(k);
  return el;
}

// stackedBars(parent, days[], series{name: [values per day]}, {caption, format, cell})
// Values may be numbers or decimal strings (USD from the API): they are parsed only to draw;
// format(number) labels the axis, cell(raw value) fills the screen-reader table (default
// format), so money there is the API's own string.
export function stackedBars(parent, days, series, opts = {}) {
  const { caption = 'Chart', format = (v) => String(v) } = opts;
  const cell = opts.cell || ((v) => format(Number(v) || 0));
  const names = Object.keys(series);
  const totals = days.map((_, i) => names.reduce((a, n) => a + (Number(series[n][i]) || 0), 0));
  const max = Math.max(0, ...totals) || 1;
  const W = 720;
  const H = 240;
  const padL = 56;
  const padB = 28;
  const padT = 8;
  const plotH = H - padB - padT;
  const bw = (W - padL) / Math.max(days.length, 1);
  const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart', 'aria-hidden': 'true', focusable: 'false', preserveAspectRatio: 'none' });
  for (let g = 0; g <= 4; g += 1) {
    const y = padT + plotH - (plotH * g) / 4;
    svg.append(s('line', { x1: padL, x2: W, y1: y, y2: y, class: 'grid' }));
    const t = s('text', { x: padL - 6, y: y + 4, class: 'axis', 'text-anchor': 'end' });
    t.textContent = format((max * g) / 4);
    svg.append(t);
  }
  days.forEach((d, i) => {
    let y = padT + plotH;
    names.forEach((n, k) => {
      const v = Number(series[n][i]) || 0;
      if (v <= 0) return;
      const bh = (plotH * v) / max;
      y -= bh;
      svg.append(s('rect', { x: padL + i * bw + 1, y, width: Math.max(bw - 2, 1), height: bh, class: `s${k % 8}` }, s('title', {}, document.createTextNode(`${d} ${n}: ${cell(series[n][i])}`))));
    });
    if (days.length <= 10 || i % Math.ceil(days.length / 8) === 0) {
      const t = s('text', { x: padL + i * bw + bw / 2, y: H - 8, class: 'axis', 'text-anchor': 'middle' });
      t.textContent = String(d).slice(5);
      svg.append(t);
    }
  });
  const legend = h('ul', { class: 'legend', attrs: { 'aria-hidden': 'true' } }, names.map((n, k) => h('li', null, h('span', { class: `swatch s${k % 8}` }), n)));
  const tbl = h(
    'table',
    { class: 'sr-only' },
    h('caption', { text: caption }),
    h('thead', null, h('tr', null, h('th', { attrs: { scope: 'col' }, text: 'Day' }), names.map((n) => h('th', { attrs: { scope: 'col' }, text: n })))),
    h('tbody', null, days.map((d, i) => h('tr', null, h('th', { attrs: { scope: 'row' }, text: d }), names.map((n) => h('td', { text: cell(series[n][i] ?? 0) }))))),
  );
  const fig = h('figure', { class: 'chart-box' }, svg, legend, tbl);
  parent.append(fig);
  return fig;
}
