import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

/** One file's imports: the specifier and whether it is `import type` only. */
export interface ImportEdge {
  from: string;
  to: string;
  /** The module specifier as written (for package imports). */
  specifier: string;
}

const IMPORT_RE = /(?:^|\n)\s*(?:import|export)\s[^;]*?from\s*['"]([^'"]+)['"]|(?:^|\n)\s*import\s*['"]([^'"]+)['"]|require\(\s*['"]([^'"]+)['"]\s*\)/g;

export function listTsFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...listTsFiles(p));
    else if (p.endsWith('.ts') && !p.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/** Every import of every file, type-only imports included: a type cycle is still a cycle for a reader. */
export function importEdges(root: string, dirs: string[]): ImportEdge[] {
  const files = dirs.flatMap((d) => listTsFiles(join(root, d)));
  const known = new Set(files);
  const edges: ImportEdge[] = [];
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(IMPORT_RE)) {
      const specifier = m[1] ?? m[2] ?? m[3];
      if (!specifier.startsWith('.')) {
        edges.push({ from: relative(root, file), to: '', specifier });
        continue;
      }
      const base = resolve(dirname(file), specifier);
      const target = [`${base}.ts`, join(base, 'index.ts')].find((c) => known.has(c));
      if (target) edges.push({ from: relative(root, file), to: relative(root, target), specifier });
    }
  }
  return edges;
}

/** The cycles of a directed graph (one per strongly connected component larger than a node). */
export function findCycles(graph: Map<string, Set<string>>): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const comp: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        comp.push(w);
      } while (w !== v);
      if (comp.length > 1 || graph.get(v)?.has(v)) out.push(comp.sort());
    }
  };
  for (const v of graph.keys()) if (!idx.has(v)) visit(v);
  return out;
}

export function graphOf(edges: Array<{ from: string; to: string }>): Map<string, Set<string>> {
  const g = new Map<string, Set<string>>();
  for (const { from, to } of edges) {
    if (!g.has(from)) g.set(from, new Set());
    if (!g.has(to)) g.set(to, new Set());
    g.get(from)!.add(to);
  }
  return g;
}
