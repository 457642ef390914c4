import { expect } from 'chai';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { repoRoot } from '../helpers/paths.js';

/**
 * No import cycles in the server and the RPA agent. In an ES module cycle one module runs before
 * the other has finished: a top-level use of an import from the other side (a constant, a class
 * to extend, a call) then throws "Cannot access … before initialization" at start-up, and
 * whether it does depends on which file happens to be loaded first. So every cycle fails the test,
 * named file by file.
 *
 * What counts as an edge:
 * - `import … from`, `export … from` and bare `import '…'`: yes.
 * - `import type …`, `export type …`, and imports whose every name is marked `type`
 *   (`import { type A, type B } from`): no. TypeScript erases them, so they never load the other
 *   module and cannot change the order in which modules run. Counting them would reject harmless
 *   shapes (a route's types next to the app that mounts it) and push code into odd places only to
 *   please the test. An import written without `type` counts even when its names are only used as
 *   types (the compiler would drop it, but only the type checker knows that): mark such names
 *   `type` and the test agrees with the compiler.
 * - `import('…')` expressions (dynamic imports, and `import('…').T` in types): no. A dynamic import
 *   runs after the importing module has finished, and a type reference is erased.
 *
 * The imports are listed with TypeScript's own scanner (`ts.preProcessFile`) and classified on the
 * syntax tree. Specifiers are resolved as NodeNext does for this tree: relative `./x.js` to
 * `./x.ts`, and `@madoguchi/server/x` to `server/src/x.ts` (the package's `./*` export).
 */
const ROOTS = ['server/src', 'rpa-agent/src'];
const PACKAGES: Record<string, string> = { '@madoguchi/server/': 'server/src/', '@madoguchi/rpa-agent/': 'rpa-agent/src/' };

type Kind = 'value' | 'type' | 'dynamic';

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(p);
    return /\.(ts|tsx|mts)$/.test(e.name) && !e.name.endsWith('.d.ts') ? [p] : [];
  });
}

/** Kind of each import, keyed by the position of its module specifier (the opening quote). */
function classify(file: string, text: string): Map<number, Kind> {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const kinds = new Map<number, Kind>();
  const allTypes = (elements: ts.NodeArray<ts.ImportSpecifier | ts.ExportSpecifier>) =>
    elements.length > 0 && elements.every((e) => e.isTypeOnly);
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node)) {
      const c = node.importClause;
      const typeOnly =
        !!c && (c.isTypeOnly || (!c.name && !!c.namedBindings && ts.isNamedImports(c.namedBindings) && allTypes(c.namedBindings.elements)));
      kinds.set(node.moduleSpecifier.getStart(sf), typeOnly ? 'type' : 'value');
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier) {
      const c = node.exportClause;
      const typeOnly = node.isTypeOnly || (!!c && ts.isNamedExports(c) && allTypes(c.elements));
      kinds.set(node.moduleSpecifier.getStart(sf), typeOnly ? 'type' : 'value');
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
      kinds.set(node.argument.literal.getStart(sf), 'type');
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword && node.arguments[0]) {
      kinds.set(node.arguments[0].getStart(sf), 'dynamic');
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return kinds;
}

/** The source file an import specifier names, or null for a package outside the tree (or a non-TypeScript file). */
function resolve(from: string, specifier: string): string | null {
  let base: string;
  const pkg = Object.keys(PACKAGES).find((p) => specifier.startsWith(p));
  if (pkg) base = path.join(repoRoot, PACKAGES[pkg]!, specifier.slice(pkg.length));
  else if (specifier.startsWith('.')) base = path.resolve(path.dirname(from), specifier);
  else return null;
  const stem = base.replace(/\.(js|mjs|ts|mts)$/, '');
  for (const candidate of [`${stem}.ts`, `${stem}.mts`, `${stem}.tsx`, path.join(base, 'index.ts')])
    if (existsSync(candidate)) return candidate;
  return null;
}

/** The value-import graph: file → the files it loads when it runs. */
function importGraph(): Map<string, Set<string>> {
  const graph = new Map<string, Set<string>>();
  for (const root of ROOTS) {
    for (const file of sourceFiles(path.join(repoRoot, root))) {
      const text = readFileSync(file, 'utf8');
      const kinds = classify(file, text);
      const edges = new Set<string>();
      for (const ref of ts.preProcessFile(text, true, true).importedFiles) {
        // Anything the syntax tree did not place is counted: a missed cycle is worse than a false one.
        if ((kinds.get(ref.pos) ?? 'value') !== 'value') continue;
        const target = resolve(file, ref.fileName);
        if (target && target !== file) edges.add(target);
      }
      graph.set(file, edges);
    }
  }
  return graph;
}

/** Strongly connected components with more than one file (Tarjan). */
function tangles(graph: Map<string, Set<string>>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  const connect = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        connect(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1) out.push(component);
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) connect(v);
  return out;
}

/** Shortest path from `from` to `to` inside `within` (breadth first), both ends included. */
function shortestPath(graph: Map<string, Set<string>>, from: string, to: string, within: Set<string>): string[] {
  const prev = new Map<string, string>([[from, from]]);
  const queue = [from];
  while (queue.length) {
    const v = queue.shift()!;
    if (v === to) break;
    for (const w of graph.get(v) ?? [])
      if (within.has(w) && !prev.has(w)) {
        prev.set(w, v);
        queue.push(w);
      }
  }
  const p = [to];
  while (p[0] !== from) p.unshift(prev.get(p[0]!)!);
  return p;
}

/**
 * The cycles to report: for every import inside a tangle, the shortest cycle through it (listing
 * every elementary cycle can explode). Each import that lies on a cycle is named at least once,
 * so fixing the listed cycles removes them all.
 */
function findCycles(graph: Map<string, Set<string>> = importGraph()): string[][] {
  const seen = new Set<string>();
  const cycles: string[][] = [];
  for (const component of tangles(graph)) {
    const members = new Set(component);
    for (const v of [...component].sort())
      for (const w of [...(graph.get(v) ?? [])].sort()) {
        if (!members.has(w)) continue;
        const cycle = [v, ...shortestPath(graph, w, v, members)];
        // The same cycle from another starting import: keep one, starting at its first file by name.
        const ring = cycle.slice(0, -1);
        const start = ring.indexOf([...ring].sort()[0]!);
        const key = [...ring.slice(start), ...ring.slice(0, start)].join('\n');
        if (seen.has(key)) continue;
        seen.add(key);
        cycles.push([...ring.slice(start), ...ring.slice(0, start), ring[start]!]);
      }
  }
  return cycles;
}

describe('import cycles', () => {
  it('server/src and rpa-agent/src import no module that imports them back', function () {
    this.timeout(30_000);
    const cycles = findCycles().map((c) => c.map((f) => path.relative(repoRoot, f)).join(' → '));
    expect(cycles, `${cycles.length} import cycle(s):\n${cycles.join('\n')}\n`).to.deep.equal([]);
  });

  it('finds a cycle and names it file by file (self-check on a small graph)', () => {
    const g = new Map<string, Set<string>>([
      ['a.ts', new Set(['b.ts'])],
      ['b.ts', new Set(['c.ts', 'd.ts'])],
      ['c.ts', new Set(['a.ts'])],
      ['d.ts', new Set<string>()],
    ]);
    expect(findCycles(g)).to.deep.equal([['a.ts', 'b.ts', 'c.ts', 'a.ts']]);
  });

  it('counts value imports and re-exports, not type-only or dynamic imports', () => {
    const text = [
      "import type { A } from './type-only.js';",
      "import { type B, type C } from './all-names-type.js';",
      "import { D, type E } from './mixed.js';",
      "import './side-effect.js';",
      "export * from './star.js';",
      "export type { F } from './type-export.js';",
      "export { G } from './value-export.js';",
      "const h = await import('./dynamic.js');",
      "let i: import('./type-ref.js').I;",
    ].join('\n');
    const kinds = classify('x.ts', text);
    const byName = Object.fromEntries(ts.preProcessFile(text, true, true).importedFiles.map((f) => [f.fileName, kinds.get(f.pos)]));
    expect(byName).to.deep.equal({
      './type-only.js': 'type',
      './all-names-type.js': 'type',
      './mixed.js': 'value',
      './side-effect.js': 'value',
      './star.js': 'value',
      './type-export.js': 'type',
      './value-export.js': 'value',
      './dynamic.js': 'dynamic',
      './type-ref.js': 'type',
    });
  });
});
