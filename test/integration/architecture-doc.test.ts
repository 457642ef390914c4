import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { tableColumns } from '../../server/src/db/tables.generated.js';
import { repoRoot } from '../helpers/paths.js';

/**
 * Keeps docs/architecture.md true to the tree: every top-level entry of server/src and of the
 * repository is described, every `server/src/…` path it names exists, and every table has the
 * owner that writes it named in the server/src table.
 */
const doc = () => readFileSync(path.join(repoRoot, 'docs/architecture.md'), 'utf8');

/** The rows of the markdown table that follows `heading`, first cell → row text. */
function tableAfter(text: string, heading: string): Map<string, string> {
  const start = text.indexOf(heading);
  if (start < 0) return new Map();
  const rows = new Map<string, string>();
  for (const line of text.slice(start).split('\n').slice(1)) {
    if (!line.startsWith('|')) {
      if (rows.size) break;
      continue;
    }
    const first = line.split('|')[1]!.trim();
    const m = /^`([^`]+)`$/.exec(first);
    if (m) rows.set(m[1]!, line);
  }
  return rows;
}

export function undescribedEntries(text: string): string[] {
  const server = tableAfter(text, '## server/src');
  const repo = tableAfter(text, '## Repository');
  const missing: string[] = [];
  for (const e of readdirSync(path.join(repoRoot, 'server/src'), { withFileTypes: true })) {
    const name = e.isDirectory() ? `${e.name}/` : e.name;
    if (!server.has(name)) missing.push(`server/src/${name}`);
  }
  for (const e of readdirSync(repoRoot, { withFileTypes: true })) {
    if (
      !e.isDirectory() ||
      e.name.startsWith('.') ||
      e.name === 'node_modules' ||
      e.name === 'data' ||
      e.name === 'tmp' ||
      e.name.startsWith('dist')
    )
      continue;
    if (!repo.has(`${e.name}/`)) missing.push(`${e.name}/`);
  }
  return missing;
}

export function missingPaths(text: string): string[] {
  const named = [...text.matchAll(/`(server\/src\/[A-Za-z0-9_./-]+)`/g)].map((m) => m[1]!);
  return [...new Set(named)].filter((p) => !existsSync(path.join(repoRoot, p)));
}

describe('docs/architecture.md is true to the tree', () => {
  it('describes every top-level folder and file of server/src and of the repository', () => {
    expect(undescribedEntries(doc())).to.deep.equal([]);
  });

  it('names no server/src path that does not exist', () => {
    expect(missingPaths(doc())).to.deep.equal([]);
  });

  it('names the owner of every table', () => {
    const server = [...tableAfter(doc(), '## server/src').values()].join('\n');
    const unowned = Object.keys(tableColumns).filter((t) => {
      if (server.includes(`\`${t}\``)) return false;
      // `staff_group_*` covers the group tables.
      return !(t.startsWith('staff_group_') && server.includes('`staff_group_*`'));
    });
    expect(unowned).to.deep.equal([]);
  });

  it('fails when a folder is added without its row, or a named path goes away', () => {
    const text = doc();
    const cut = text.replace(/^\| `bulletins\/` .*\n/m, '');
    expect(undescribedEntries(cut)).to.deep.equal(['server/src/bulletins/']);
    expect(missingPaths(`${text}\n\`server/src/nowhere/gone.ts\``)).to.deep.equal(['server/src/nowhere/gone.ts']);
  });
});
