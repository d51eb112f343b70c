// ECharts in a Preact component: one instance per chart, resized with its box, disposed on unmount.
// Charts take numbers (Number(decimal string) is fine for drawing); exact figures stay in tables.
import { useEffect, useRef } from 'preact/hooks';
import { html } from './html.js';

export const palette = ['#4f46e5', '#0ea5e9', '#10b981', '#f59e0b', '#ef4444', '#8b5cf6', '#14b8a6', '#f97316', '#64748b', '#ec4899'];
// Headless test browsers get still charts, so screenshots and assertions see the final frame.
// ECharts (1 MB) is evaluated while the first API requests are in flight, not before the app starts.
const echartsReady = import('echarts');
const animate = !navigator.webdriver && !matchMedia('(prefers-reduced-motion: reduce)').matches;

const base = {
  color: palette,
  animation: animate,
  aria: { enabled: true, decal: { show: false } },
  textStyle: { fontFamily: 'inherit' },
  grid: { left: 8, right: 16, top: 36, bottom: 8, containLabel: true },
  tooltip: { confine: true },
};

/** A chart. `label` is its accessible name; the option is an ECharts option (numbers). */
export function Chart({ option, height = 280, label, testid }) {
  const box = useRef(null);
  const chart = useRef(null);
  const latest = useRef(option);
  latest.current = option;
  useEffect(() => {
    let live = true;
    let resize;
    echartsReady.then((echarts) => {
      if (!live) return;
      chart.current = echarts.init(box.current, null, { renderer: 'canvas' });
      chart.current.setOption({ ...base, ...latest.current }, true);
      box.current.setAttribute('data-rendered', 'true');
      resize = new ResizeObserver(() => chart.current?.resize());
      resize.observe(box.current);
    });
    return () => { live = false; resize?.disconnect(); chart.current?.dispose(); chart.current = null; };
  }, []);
  // Options are rebuilt on every render of the page; redraw (and re-animate) only when the data or
  // settings changed (formatter functions are not part of the comparison).
  const key = JSON.stringify(option);
  useEffect(() => {
    if (!chart.current) return; // drawn with the latest option once ECharts is ready
    chart.current.setOption({ ...base, ...option }, true);
    box.current?.setAttribute('data-rendered', 'true');
  }, [key]);
  return html`<figure class="chart-figure"><div class="chart" ref=${box} style=${{ height: `${height}px` }} data-testid=${testid} aria-label=${label}></div><figcaption class="visually-hidden">${label}</figcaption></figure>`;
}

export const money = (v) => `$${Number(v).toLocaleString('en-US', { maximumFractionDigits: Math.abs(v) < 1 ? 4 : 2 })}`;
