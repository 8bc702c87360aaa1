/**
 * The scenario editor: a textarea over a backdrop that draws, line by line,
 * the current step's highlight and each diagnostic inline at its line (the
 * message after the line's text, the span underlined), with a gutter of line
 * numbers marking the lines in error.
 */
import { h, replace } from './dom.js';

export interface Mark {
  line: number;
  column: number;
  endColumn?: number;
  severity: 'error' | 'warning';
  message: string;
  code?: string;
}

export class Editor {
  readonly root: HTMLElement;
  readonly textarea: HTMLTextAreaElement;
  private readonly gutter: HTMLElement;
  private readonly backdrop: HTMLElement;
  private readonly list: HTMLElement;
  private marks: Mark[] = [];
  private current = 0;

  constructor(onInput: (text: string) => void) {
    this.textarea = h('textarea', {
      class: 'editor-text', spellcheck: 'false', wrap: 'off', autocapitalize: 'off', autocomplete: 'off',
      'aria-label': 'Scenario (strace syntax)',
    });
    this.gutter = h('div', { class: 'editor-gutter', 'aria-hidden': 'true' });
    this.backdrop = h('div', { class: 'editor-backdrop', 'aria-hidden': 'true' });
    this.list = h('ul', { class: 'editor-diagnostics', 'aria-live': 'polite' });
    this.root = h('div', { class: 'editor' },
      h('div', { class: 'editor-body' }, this.gutter, h('div', { class: 'editor-code' }, this.backdrop, this.textarea)),
      this.list);
    this.textarea.addEventListener('input', () => {
      this.render();
      onInput(this.textarea.value);
    });
    this.textarea.addEventListener('scroll', () => this.syncScroll());
    this.textarea.addEventListener('keydown', (e) => {
      // Tab moves focus between panels; Escape leaves the editor for the step keys.
      if (e.key === 'Escape') this.textarea.blur();
    });
  }

  get value(): string {
    return this.textarea.value;
  }

  set value(text: string) {
    this.textarea.value = text;
    this.textarea.scrollTop = 0;
    this.render();
  }

  setMarks(marks: Mark[]): void {
    this.marks = marks;
    this.render();
  }

  /** Highlight the line of the current step (0: none). */
  setCurrentLine(line: number): void {
    this.current = line;
    this.render();
    if (line > 0 && document.activeElement !== this.textarea) this.scrollToLine(line);
  }

  scrollToLine(line: number): void {
    const lh = parseFloat(getComputedStyle(this.textarea).lineHeight) || 18;
    const top = (line - 1) * lh;
    const view = this.textarea.clientHeight;
    if (top < this.textarea.scrollTop || top + lh > this.textarea.scrollTop + view) {
      this.textarea.scrollTop = Math.max(0, top - view / 3);
      this.syncScroll();
    }
  }

  focusLine(line: number, column = 1): void {
    const lines = this.textarea.value.split('\n');
    let pos = 0;
    for (let i = 0; i < line - 1 && i < lines.length; i++) pos += lines[i]!.length + 1;
    pos += Math.max(0, column - 1);
    this.textarea.focus();
    this.textarea.setSelectionRange(pos, pos);
    this.scrollToLine(line);
  }

  private syncScroll(): void {
    const y = this.textarea.scrollTop;
    const x = this.textarea.scrollLeft;
    this.backdrop.style.transform = `translate(${-x}px, ${-y}px)`;
    this.gutter.style.transform = `translateY(${-y}px)`;
  }

  private render(): void {
    const lines = this.textarea.value.split('\n');
    const byLine = new Map<number, Mark[]>();
    for (const m of this.marks) {
      const l = Math.min(Math.max(1, m.line), lines.length);
      let a = byLine.get(l);
      if (a === undefined) byLine.set(l, (a = []));
      a.push(m);
    }
    replace(this.gutter, lines.map((_, i) => {
      const ms = byLine.get(i + 1);
      const cls = ['gutter-line', ms?.some((m) => m.severity === 'error') ? 'error' : ms ? 'warning' : '', i + 1 === this.current ? 'current' : ''].join(' ');
      return h('div', { class: cls, 'data-line': i + 1, title: ms?.map((m) => `${m.line}:${m.column}: ${m.message}`).join('\n') }, String(i + 1));
    }));
    replace(this.backdrop, lines.map((text, i) => {
      const ms = byLine.get(i + 1);
      const cls = ['line', ms?.some((m) => m.severity === 'error') ? 'error' : ms ? 'warning' : '', i + 1 === this.current ? 'current' : ''].join(' ');
      const parts: (string | HTMLElement)[] = [];
      const m0 = ms?.[0];
      if (m0 !== undefined) {
        const a = Math.max(0, Math.min(text.length, m0.column - 1));
        const b = Math.max(a + 1, Math.min(text.length, (m0.endColumn ?? m0.column + 1) - 1));
        parts.push(text.slice(0, a), h('span', { class: 'squiggle' }, text.slice(a, b) || ' '), text.slice(b));
        for (const m of ms!) {
          parts.push(h('span', { class: `lens ${m.severity}`, 'data-line': i + 1 }, `  ${m.severity === 'error' ? '✖' : '⚠'} ${m.message}`));
        }
      } else {
        parts.push(text === '' ? ' ' : text);
      }
      return h('div', { class: cls }, parts);
    }));
    const sorted = [...this.marks].sort((a, b) => a.line - b.line || a.column - b.column);
    replace(this.list, sorted.map((m) => h('li', { class: m.severity },
      h('button', { type: 'button', class: 'link', onclick: () => this.focusLine(m.line, m.column) }, `line ${m.line}:${m.column}`),
      ` ${m.message}`, m.code ? h('span', { class: 'code' }, ` [${m.code}]`) : null)));
    this.syncScroll();
  }
}
