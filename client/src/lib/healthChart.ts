/**
 * Health drawn as inline SVG, made with DOM calls (no markup from data): a table row's
 * sparkline, patched in place, and the detail panel's larger charts. The lines come from
 * ./health.ts; this file only makes elements.
 */
import type { HealthLevel, HealthSample } from '../../../protocol/health';
import { setAttr } from './dom';
import { type Figure, type HealthTrail, linePath, maxOf, niceMax, sparkPaths } from './health';

const SVG = 'http://www.w3.org/2000/svg';

function svgEl<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | number> = {},
): SVGElementTagNameMap[K] {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  return e;
}

export const SPARK = { width: 96, height: 24 };

export interface Sparkline {
  svg: SVGSVGElement;
  /** Redraws from the trail when it has a sample the line has not drawn (compare first: no write otherwise). */
  update(trail: HealthTrail | undefined): void;
}

/** A row's sparkline: what the site sends (kbit/s) and its loss, since the page opened. */
export function sparkline(label: string): Sparkline {
  const svg = svgEl('svg', {
    viewBox: `0 0 ${SPARK.width} ${SPARK.height}`,
    width: SPARK.width,
    height: SPARK.height,
    class: 'spark',
    role: 'img',
    'aria-label': label,
  });
  const up = svgEl('path', { class: 'spark-up' });
  const loss = svgEl('path', { class: 'spark-loss' });
  // The zero line, so an empty sparkline reads as "nothing yet", not as a missing control.
  const base = svgEl('line', {
    class: 'spark-base',
    x1: 1,
    x2: SPARK.width - 1,
    y1: SPARK.height - 2,
    y2: SPARK.height - 2,
  });
  svg.append(base, up, loss);
  let drawn = -1;
  return {
    svg,
    update(trail) {
      const version = trail?.version ?? 0;
      if (version === drawn) return;
      drawn = version;
      const d = sparkPaths(trail?.samples ?? [], SPARK.width, SPARK.height);
      setAttr(up, 'd', d.up || null);
      setAttr(loss, 'd', d.loss || null);
    },
  };
}

export interface ChartSeries {
  figure: Figure;
  /** CSS class of its line (its colour), and its name in words for the legend. */
  cls: string;
  label: string;
}

export interface ChartOptions {
  samples: readonly HealthSample[];
  series: ChartSeries[];
  /** The chart in words, for a screen reader (the figures are in the panel's text too). */
  label: string;
  /** The scale's least top value (a flat line near zero is not drawn as a full-height one). */
  floor: number;
  /** Formats a value of the scale and a time of the axis. */
  value: (v: number) => string;
  time: (t: number) => string;
  width?: number;
  height?: number;
}

const PAD = { left: 56, right: 10, top: 10, bottom: 22 };

/**
 * A line chart of some figures over the samples' span, with the periods that were not good
 * shaded by level behind the lines (the level is in words in the list beside it).
 */
export function lineChart(opts: ChartOptions): SVGSVGElement {
  const width = opts.width ?? 1000;
  const height = opts.height ?? 150;
  const svg = svgEl('svg', {
    viewBox: `0 0 ${width} ${height}`,
    class: 'chart',
    role: 'img',
    'aria-label': opts.label,
  });
  const first = opts.samples[0];
  const last = opts.samples[opts.samples.length - 1];
  const box = { x0: PAD.left, x1: width - PAD.right, y0: PAD.top, y1: height - PAD.bottom };
  const max = niceMax(Math.max(...opts.series.map((s) => maxOf(opts.samples, s.figure))), opts.floor);
  const t0 = first?.t ?? 0;
  const t1 = last?.t ?? 0;
  const xOf = (t: number) => (t1 > t0 ? box.x0 + ((t - t0) / (t1 - t0)) * (box.x1 - box.x0) : box.x1);

  // The periods that were not good, as bands of their level's colour.
  const bands = svgEl('g', { class: 'chart-bands' });
  let start: { t: number; level: HealthLevel } | null = null;
  const closeBand = (end: number) => {
    if (!start) return;
    const x = xOf(start.t);
    bands.append(
      svgEl('rect', {
        x: x.toFixed(1),
        y: box.y0,
        width: Math.max(2, xOf(end) - x).toFixed(1),
        height: box.y1 - box.y0,
        class: `band band-${start.level}`,
      }),
    );
    start = null;
  };
  for (const s of opts.samples) {
    if (start && start.level !== s.level) closeBand(s.t);
    if (!start && s.level !== 'good') start = { t: s.t, level: s.level };
  }
  closeBand(t1);
  svg.append(bands);

  // The scale: 0, half and the top, with their values; the time at both ends and the middle.
  const axis = svgEl('g', { class: 'chart-axis' });
  for (const f of [0, 0.5, 1]) {
    const y = box.y1 - f * (box.y1 - box.y0);
    axis.append(svgEl('line', { x1: box.x0, x2: box.x1, y1: y, y2: y }));
    const label = svgEl('text', { x: box.x0 - 6, y: y + 4, 'text-anchor': 'end' });
    label.textContent = opts.value(max * f);
    axis.append(label);
  }
  if (first && last)
    for (const [t, anchor] of [
      [t0, 'start'],
      [(t0 + t1) / 2, 'middle'],
      [t1, 'end'],
    ] as const) {
      const label = svgEl('text', { x: xOf(t), y: height - 6, 'text-anchor': anchor });
      label.textContent = opts.time(t);
      axis.append(label);
    }
  svg.append(axis);

  for (const s of opts.series) {
    const d = linePath(opts.samples, s.figure, { ...box, t0, t1, max });
    if (d) svg.append(svgEl('path', { d, class: `line ${s.cls}` }));
  }
  return svg;
}
