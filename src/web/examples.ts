/**
 * The scenarios bundled into the page at build time: the explorer's own
 * (src/web/examples/) and the project's examples/ directory.
 */
export interface Example {
  name: string;
  source: string;
}

const own = import.meta.glob<string>('./examples/*', { query: '?raw', import: 'default', eager: true });
const project = import.meta.glob<string>('../../examples/*.{strace,scn,txt,log}', { query: '?raw', import: 'default', eager: true });

function collect(files: Record<string, string>): Example[] {
  return Object.entries(files)
    .map(([path, source]) => ({ name: path.slice(path.lastIndexOf('/') + 1), source }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

const ORDER = ['private-write-fault.strace', 'fork-cow.strace', 'shared-writeback.strace', 'anon-heap-stack.strace'];

export const EXAMPLES: Example[] = (() => {
  const mine = collect(own).sort((a, b) => ORDER.indexOf(a.name) - ORDER.indexOf(b.name));
  const names = new Set(mine.map((e) => e.name));
  return [...mine, ...collect(project).filter((e) => !names.has(e.name))];
})();
