/**
 * The address space of one process, drawn to scale as an SVG column (high
 * addresses at the top, as /proc/PID/maps reads bottom-up): every VMA
 * coloured by kind and labelled as /proc/PID/maps labels it: its pathname
 * column, which is empty for anonymous memory (show_map_vma() prints
 * nothing there; the colour, the legend and the tooltip tell the kind).
 * 'linear' keeps true proportions (most VMAs are slivers against the
 * 128 TiB user space span they sit in); 'compressed' collapses the gaps and
 * sizes each VMA by the logarithm of its length.
 */
import type { VmaSnapshot } from '../../index.js';
import { hex, s, size } from '../dom.js';

export const KIND_LABEL: Record<VmaSnapshot['kind'], string> = {
  anon: 'anonymous',
  'file-private': 'file, private',
  'file-shared': 'file, shared',
  shmem: 'shmem',
  hugetlb: 'hugetlbfs',
  heap: 'heap',
  stack: 'stack',
  special: 'vdso/vvar',
};

export type Scale = 'linear' | 'compressed';

interface Box {
  v: VmaSnapshot;
  y0: number;
  y1: number;
}

const W = 470;
const BAR_X = 104;
const BAR_W = 86;
const LABEL_X = 214;
const LABEL_H = 15;

function layoutLinear(vmas: VmaSnapshot[], height: number): Box[] {
  const lo = Number(vmas[0]!.start);
  const hi = Number(vmas[vmas.length - 1]!.end);
  const span = Math.max(1, hi - lo);
  return vmas.map((v) => {
    const y0 = 10 + ((hi - Number(v.end)) / span) * height;
    const y1 = 10 + ((hi - Number(v.start)) / span) * height;
    return { v, y0, y1: Math.max(y1, y0 + 1) };
  });
}

const GAP_H = 18;

function layoutCompressed(vmas: VmaSnapshot[]): { boxes: Box[]; gaps: { y: number; bytes: number }[]; height: number } {
  const boxes: Box[] = [];
  const gaps: { y: number; bytes: number }[] = [];
  let y = 10;
  for (let i = vmas.length - 1; i >= 0; i--) {
    const v = vmas[i]!;
    const above = vmas[i + 1];
    if (above !== undefined && above.start > v.end) {
      gaps.push({ y, bytes: Number(above.start - v.end) });
      y += GAP_H;
    }
    const pages = Number(v.end - v.start) / 4096;
    const hgt = Math.max(LABEL_H + 5, 12 + 9 * Math.log2(1 + pages));
    boxes.push({ v, y0: y, y1: y + hgt });
    y += hgt;
  }
  return { boxes, gaps, height: y + 10 };
}

/** Spread labels so they do not overlap, keeping each near its box's middle. */
function placeLabels(boxes: Box[], top: number): number[] {
  const want = boxes.map((b) => (b.y0 + b.y1) / 2);
  const order = want.map((y, i) => ({ y, i })).sort((a, b) => a.y - b.y);
  const out = new Array<number>(boxes.length);
  let next = top;
  for (const o of order) {
    const y = Math.max(o.y, next);
    out[o.i] = y;
    next = y + LABEL_H;
  }
  return out;
}

export function renderAddressSpace(vmas: VmaSnapshot[], scale: Scale, selected: bigint | null, onSelect: (addr: bigint) => void): SVGSVGElement {
  if (vmas.length === 0) return s('svg', { viewBox: `0 0 ${W} 40`, class: 'aspace' }, s('text', { x: 10, y: 24 }, 'no process'));
  let boxes: Box[];
  let gaps: { y: number; bytes: number }[] = [];
  let height: number;
  if (scale === 'linear') {
    height = Math.max(360, vmas.length * LABEL_H + 20);
    boxes = layoutLinear(vmas, height - 20);
  } else {
    const c = layoutCompressed(vmas);
    boxes = c.boxes;
    gaps = c.gaps;
    height = c.height;
  }
  const labelYs = placeLabels(boxes, 10 + LABEL_H / 2);
  const svgH = Math.max(height, Math.max(...labelYs) + LABEL_H);
  const svg = s('svg', { viewBox: `0 0 ${W} ${svgH}`, class: `aspace ${scale}`, role: 'img', 'aria-label': `address space, ${scale} scale, ${vmas.length} VMAs` });
  svg.append(s('rect', { x: BAR_X, y: 10, width: BAR_W, height: svgH - 20, class: 'aspace-bg' }));
  if (scale === 'linear') {
    svg.append(s('text', { x: BAR_X - 6, y: 20, class: 'addr', 'text-anchor': 'end' }, hex(vmas[vmas.length - 1]!.end)));
    svg.append(s('text', { x: BAR_X - 6, y: svgH - 12, class: 'addr', 'text-anchor': 'end' }, hex(vmas[0]!.start)));
  }
  for (const g of gaps) {
    svg.append(s('line', { x1: BAR_X - 8, x2: BAR_X + BAR_W + 8, y1: g.y + GAP_H / 2, y2: g.y + GAP_H / 2, class: 'gap' }));
    svg.append(s('text', { x: BAR_X + BAR_W / 2, y: g.y + GAP_H / 2 - 2, class: 'gap-label', 'text-anchor': 'middle' }, `≈ ${size(g.bytes)} unmapped`));
  }
  boxes.forEach((b, i) => {
    const v = b.v;
    const isSel = selected !== null && selected >= v.start && selected < v.end;
    const pages = Number(v.end - v.start) / 4096;
    const title = `${hex(v.start)}-${hex(v.end)} ${v.perms}${v.name === '' ? '' : ` ${v.name}`}\n${KIND_LABEL[v.kind]}, ${size(Number(v.end - v.start))}, ${v.resident} resident page(s)\nVmFlags: ${v.flagNames}`;
    const g = s('g', {
      class: `vma kind-${v.kind}${isSel ? ' selected' : ''}`, tabindex: 0, role: 'button',
      'data-start': hex(v.start), 'aria-label': title.replace(/\n/g, '; '),
      onclick: () => onSelect(v.start),
      onkeydown: (e: Event) => {
        const k = (e as KeyboardEvent).key;
        if (k === 'Enter' || k === ' ') {
          e.preventDefault();
          onSelect(v.start);
        }
      },
    }, s('title', {}, title));
    g.append(s('rect', { x: BAR_X, y: b.y0, width: BAR_W, height: Math.max(1, b.y1 - b.y0), class: 'vma-rect' }));
    if (v.resident > 0 && scale === 'compressed' && pages > 0) {
      g.append(s('rect', { x: BAR_X + BAR_W - 6, y: b.y1 - (b.y1 - b.y0) * Math.min(1, v.resident / pages), width: 6, height: (b.y1 - b.y0) * Math.min(1, v.resident / pages), class: 'resident' }));
    }
    const ly = labelYs[i]!;
    g.append(s('line', { x1: BAR_X + BAR_W, y1: (b.y0 + b.y1) / 2, x2: LABEL_X - 4, y2: ly, class: 'leader' }));
    g.append(s('text', { x: LABEL_X, y: ly + 4, class: 'vma-label' },
      s('tspan', { class: 'perms' }, v.perms + ' '), s('tspan', { class: 'vma-name' }, v.name), s('tspan', { class: 'vsize' }, `  ${size(Number(v.end - v.start))}`)));
    if (scale === 'compressed') {
      g.append(s('text', { x: BAR_X - 6, y: b.y1 - 3, class: 'addr', 'text-anchor': 'end' }, hex(v.start)));
    }
    svg.append(g);
  });
  if (selected !== null) {
    const b = boxes.find((x) => selected >= x.v.start && selected < x.v.end);
    if (b !== undefined) {
      const frac = Number(selected - b.v.start) / Number(b.v.end - b.v.start);
      const y = b.y1 - frac * (b.y1 - b.y0);
      svg.append(s('path', { d: `M ${BAR_X - 14} ${y - 5} L ${BAR_X - 2} ${y} L ${BAR_X - 14} ${y + 5} Z`, class: 'sel-marker' }));
    }
  }
  return svg;
}
