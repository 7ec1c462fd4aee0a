import { Raster, type Rgb } from './png.js';

export interface Series {
  label: string;
  color: Rgb;
  points: { x: number; y: number }[];
  dashed?: boolean;
  marker?: 'circle' | 'square';
  /** Print each point's value beside it (default true; a long series, e.g. the soak's minutes, turns it off). */
  valueLabels?: boolean;
}

export interface Panel {
  title: string;
  xLabel: string;
  yLabel: string;
  /** Logarithmic x axis, ticked at the data's x values. */
  logX?: boolean;
  series: Series[];
  /** A horizontal target line. */
  target?: { y: number; label: string };
  /** Tick and label only every n-th x value (default 1: all; the soak's 60-odd minutes use 5). */
  xTickEvery?: number;
}

export const COLORS = {
  operator: [200, 60, 40] as Rgb,
  baseline: [40, 90, 200] as Rgb,
  extra: [40, 150, 70] as Rgb,
  grid: [225, 225, 225] as Rgb,
  axis: [60, 60, 60] as Rgb,
  text: [20, 20, 20] as Rgb,
  muted: [110, 110, 110] as Rgb,
  target: [150, 150, 150] as Rgb,
};

const PANEL_W = 560;
const PANEL_H = 420;
const HEADER = 44;
const FOOTER = 30;

/** Renders panels side by side under one title, with a footer line (the machine). */
export function renderChart(title: string, panels: Panel[], footer: string): Buffer {
  const raster = new Raster(PANEL_W * panels.length, HEADER + PANEL_H + FOOTER);
  raster.text(raster.width / 2, 12, title, COLORS.text, 2, 'center');
  panels.forEach((panel, i) => drawPanel(raster, panel, i * PANEL_W, HEADER));
  raster.text(10, HEADER + PANEL_H + 10, footer, COLORS.muted, 1);
  return raster.toPng();
}

function drawPanel(r: Raster, panel: Panel, ox: number, oy: number): void {
  const left = ox + 78;
  const right = ox + PANEL_W - 20;
  const top = oy + 34;
  const bottom = oy + PANEL_H - 92;
  r.text(ox + PANEL_W / 2, oy + 6, panel.title, COLORS.text, 2, 'center');

  const points = panel.series.flatMap((s) => s.points).filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
  const xs = [...new Set(points.map((p) => p.x))].sort((a, b) => a - b);
  const yMaxData = Math.max(0, ...points.map((p) => p.y), panel.target?.y ?? 0);
  const yTicks = niceTicks(yMaxData > 0 ? yMaxData * 1.1 : 1);
  const yMax = yTicks[yTicks.length - 1] ?? 1;

  const xMin = xs[0] ?? 0;
  const xMax = xs[xs.length - 1] ?? 1;
  const xPos = (x: number): number => {
    if (xs.length <= 1) return (left + right) / 2;
    const pad = 30;
    const t = panel.logX ? (Math.log10(x) - Math.log10(xMin)) / (Math.log10(xMax) - Math.log10(xMin)) : (x - xMin) / (xMax - xMin);
    return left + pad + t * (right - left - 2 * pad);
  };
  const yPos = (y: number): number => bottom - (y / yMax) * (bottom - top);

  // Grid and y ticks.
  for (const tick of yTicks) {
    const y = yPos(tick);
    r.line(left, y, right, y, COLORS.grid);
    r.text(left - 6, y - 3, formatTick(tick), COLORS.axis, 1, 'right');
  }
  // x ticks at the data points.
  for (const [i, x] of xs.entries()) {
    if (i % (panel.xTickEvery ?? 1) !== 0) continue;
    const px = xPos(x);
    r.line(px, top, px, bottom, COLORS.grid);
    r.line(px, bottom, px, bottom + 4, COLORS.axis);
    r.text(px, bottom + 8, formatTick(x), COLORS.axis, 1, 'center');
  }
  r.line(left, top, left, bottom, COLORS.axis);
  r.line(left, bottom, right, bottom, COLORS.axis);
  r.text((left + right) / 2, bottom + 22, panel.xLabel + (panel.logX ? ' (log scale)' : ''), COLORS.text, 1, 'center');
  r.textVertical(ox + 12, (top + bottom) / 2, panel.yLabel, COLORS.text, 1);

  if (panel.target) {
    const y = yPos(panel.target.y);
    r.line(left, y, right, y, COLORS.target, 1, [6, 4]);
    r.text(right - 4, y - 10, panel.target.label, COLORS.muted, 1, 'right');
  }

  for (const series of panel.series) {
    const pts = series.points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y)).sort((a, b) => a.x - b.x);
    for (let i = 1; i < pts.length; i++) {
      const a = pts[i - 1];
      const b = pts[i];
      if (a && b) r.line(xPos(a.x), yPos(a.y), xPos(b.x), yPos(b.y), series.color, 2, series.dashed ? [8, 5] : undefined);
    }
    for (const p of pts) {
      r.marker(xPos(p.x), yPos(p.y), series.valueLabels === false ? 2 : 4, series.color, series.marker ?? 'circle');
      if (series.valueLabels !== false) r.text(xPos(p.x) + 7, yPos(p.y) - 12, formatValue(p.y), series.color, 1);
    }
  }

  // Legend under the axis title.
  let lx = left;
  const ly = bottom + 42;
  for (const series of panel.series) {
    r.line(lx, ly + 3, lx + 22, ly + 3, series.color, 2, series.dashed ? [8, 5] : undefined);
    r.marker(lx + 11, ly + 3, 3, series.color, series.marker ?? 'circle');
    lx += 28 + r.text(lx + 28, ly, series.label, COLORS.text, 1) + 18;
    if (lx > right - 100) break;
  }
}

function niceTicks(max: number): number[] {
  const rough = max / 5;
  const magnitude = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => s >= rough) ?? rough;
  const ticks: number[] = [];
  for (let t = 0; t <= max + step * 0.999; t += step) ticks.push(Number(t.toPrecision(6)));
  return ticks;
}

function formatTick(value: number): string {
  if (value >= 10_000 && value % 1000 === 0) return `${value / 1000}k`;
  return Number.isInteger(value) ? String(value) : value.toFixed(value < 1 ? 2 : 1);
}

function formatValue(value: number): string {
  return value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2);
}

