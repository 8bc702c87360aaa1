/**
 * Charts over the steps (uPlot): resident pages, page faults and disk I/O,
 * each with a line at the current step. Clicking a chart moves to that step.
 */
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { h } from '../dom.js';
import type { StepMetrics } from '../session.js';

interface ChartSpec {
  title: string;
  series: { label: string; stroke: string; value: (m: StepMetrics) => number }[];
}

const SPECS: ChartSpec[] = [
  {
    title: 'RSS (pages, all processes)',
    series: [
      { label: 'anon', stroke: '#2f6fb3', value: (m) => m.rssAnon },
      { label: 'file', stroke: '#2f8f46', value: (m) => m.rssFile },
      { label: 'shmem', stroke: '#2aa198', value: (m) => m.rssShmem },
    ],
  },
  {
    title: 'Page faults (cumulative)',
    series: [
      { label: 'minor', stroke: '#b36b00', value: (m) => m.minflt },
      { label: 'major', stroke: '#c0392b', value: (m) => m.majflt },
    ],
  },
  {
    title: 'Disk I/O (KiB, cumulative)',
    series: [
      { label: 'read', stroke: '#6c3fb3', value: (m) => m.readKb },
      { label: 'written', stroke: '#b33f8c', value: (m) => m.writeKb },
    ],
  },
];

export interface PlottedChart {
  title: string;
  /** The step the red line marks. */
  step: number;
  /** The x scale's extent. */
  xRange: [number, number];
  xs: number[];
  series: { label: string; values: (number | null | undefined)[] }[];
}

export class Charts {
  readonly root: HTMLElement;
  private plots: uPlot[] = [];
  private step = 0;
  private readonly observer: ResizeObserver;

  constructor(private readonly onPick: (step: number) => void) {
    this.root = h('div', { class: 'charts' });
    this.observer = new ResizeObserver(() => this.resize());
    this.observer.observe(this.root);
  }

  private width(): number {
    const w = this.root.clientWidth;
    const cols = w > 780 ? 3 : w > 520 ? 2 : 1;
    return Math.max(200, Math.floor(w / cols) - 12);
  }

  setData(metrics: StepMetrics[]): void {
    for (const p of this.plots) p.destroy();
    this.plots = [];
    this.root.replaceChildren();
    const xs = metrics.map((m) => m.step);
    for (const spec of SPECS) {
      const box = h('figure', { class: 'chart' });
      this.root.append(box);
      const data: uPlot.AlignedData = [xs, ...spec.series.map((s) => metrics.map(s.value))];
      const plot = new uPlot({
        title: spec.title,
        width: this.width(),
        height: 150,
        scales: { x: { time: false } },
        axes: [{ label: 'step', size: 36, labelSize: 14 }, { size: 44 }],
        legend: { show: true },
        cursor: { drag: { x: false, y: false } },
        series: [{ label: 'step' }, ...spec.series.map((s) => ({ label: s.label, stroke: s.stroke, width: 2, paths: uPlot.paths.stepped!({ align: 1 }) }))],
        hooks: {
          draw: [(u: uPlot) => {
            const x = u.valToPos(this.step, 'x', true);
            const ctx = u.ctx;
            ctx.save();
            ctx.strokeStyle = '#d33';
            ctx.lineWidth = 2 * devicePixelRatio;
            ctx.beginPath();
            ctx.moveTo(x, u.bbox.top);
            ctx.lineTo(x, u.bbox.top + u.bbox.height);
            ctx.stroke();
            ctx.restore();
          }],
        },
      }, data, box);
      plot.over.addEventListener('click', (e) => {
        const r = plot.over.getBoundingClientRect();
        this.onPick(Math.round(plot.posToVal(e.clientX - r.left, 'x')));
      });
      this.plots.push(plot);
    }
  }

  /** What each chart plots, read back from uPlot (for tests): the x values, each series' label and values, and the step marked. */
  plotted(): PlottedChart[] {
    return this.plots.map((p, i) => ({
      title: SPECS[i]!.title,
      step: this.step,
      xRange: [p.scales['x']?.min ?? 0, p.scales['x']?.max ?? 0],
      xs: [...p.data[0]],
      series: p.series.slice(1).map((s, j) => ({ label: String(s.label), values: [...p.data[j + 1]!] })),
    }));
  }

  setStep(step: number): void {
    this.step = step;
    for (const p of this.plots) p.redraw(false, false);
  }

  private resize(): void {
    const w = this.width();
    for (const p of this.plots) if (Math.abs(p.width - w) > 2) p.setSize({ width: w, height: 150 });
  }
}
