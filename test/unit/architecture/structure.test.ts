import { dirname, join } from 'node:path';
import { findCycles, graphOf, importEdges } from './import-graph';

const root = join(__dirname, '..', '..', '..');
const edges = importEdges(root, ['src', 'workers']);
const local = edges.filter((e) => e.to);

/** `src/domains/x.ts` → `src/domains`; files at the top of src/ are their own unit. */
const folderOf = (file: string) => (dirname(file) === 'src' ? file : dirname(file));

describe('the import graph of src/ and workers/', () => {
  it('finds a cycle when there is one (the checker itself)', () => {
    expect(findCycles(graphOf([{ from: 'a', to: 'b' }, { from: 'b', to: 'c' }, { from: 'c', to: 'a' }, { from: 'c', to: 'd' }]))).toEqual([
      ['a', 'b', 'c'],
    ]);
    expect(findCycles(graphOf([{ from: 'a', to: 'b' }, { from: 'b', to: 'c' }]))).toEqual([]);
  });

  it('reads the imports of the real tree', () => {
    expect(local.length).toBeGreaterThan(100);
  });

  it('has no file import cycles', () => {
    expect(findCycles(graphOf(local))).toEqual([]);
  });

  it('has no folder import cycles', () => {
    const folderEdges = local.map((e) => ({ from: folderOf(e.from), to: folderOf(e.to) })).filter((e) => e.from !== e.to);
    expect(findCycles(graphOf(folderEdges))).toEqual([]);
  });

  it('imports bullmq only in src/queue/ and workers/', () => {
    const offenders = edges.filter((e) => e.specifier === 'bullmq' && !e.from.startsWith('src/queue/') && !e.from.startsWith('workers/'));
    expect(offenders.map((e) => e.from)).toEqual([]);
  });

  it('imports mongoose only in stores, models and the composition root', () => {
    const offenders = edges.filter(
      (e) => e.specifier === 'mongoose' && e.from.startsWith('src/') && !/\.(store|model)\.ts$|^src\/container\.ts$/.test(e.from),
    );
    expect(offenders.map((e) => e.from)).toEqual([]);
  });

  it('lets no HTTP router import a store', () => {
    const offenders = local.filter((e) => /\.router\.ts$/.test(e.from) && /\.store\.ts$/.test(e.to));
    expect(offenders).toEqual([]);
  });
});
