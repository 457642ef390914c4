import { expect } from 'chai';
import type { Command } from 'commander';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { buildCli as buildAgentCli } from '../../rpa-agent/src/cli.js';
import { buildCli } from '../../server/src/cli/index.js';
import { repoRoot } from '../helpers/paths.js';

/** Every Markdown file an installer or a clerk reads: the README and docs/ with its sub-folders. */
function markdownFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === 'screenshots' ? [] : markdownFiles(p);
    return e.name.endsWith('.md') ? [p] : [];
  });
}
const docs = [path.join(repoRoot, 'README.md'), ...markdownFiles(path.join(repoRoot, 'docs'))].map((f) => ({
  file: path.relative(repoRoot, f),
  text: readFileSync(f, 'utf8'),
}));

/** The log messages of the server that start with the program's name (`madoguchi stopped` …) are not commands. */
const serverSource = ['server/src/main.ts', 'server/src/cli/serve.ts', 'server/src/ops/gracefulStop.ts']
  .map((f) => readFileSync(path.join(repoRoot, f), 'utf8'))
  .join('\n');

interface Use {
  file: string;
  line: number;
  words: string[];
}

/**
 * A command is the program's name where a shell would run it: at the start of a code span or a
 * code line, after `$ `, `sudo [-u USER] `, a pipe, `;` or `&&`, followed by its words up to the
 * end of the span, the line or the next shell operator.
 */
function uses(program: string): Use[] {
  const out: Use[] = [];
  // The start of a line counts only inside a fenced code block (a line of prose may begin with the name).
  const start = String.raw`(?:\x60|\$ |sudo (?:-u \S+ )?|\| |; |&& )`;
  const lineStart = new RegExp(`^${program}((?: +[^\\s\`|;&]+)*)`);
  const re = new RegExp(`${start}${program}((?: +[^\\s\`|;&]+)*)`, 'g');
  for (const d of docs) {
    // A shell line continued with a backslash is one command.
    const lines = d.text.replace(/ \\\n\s*/g, ' ').split('\n');
    let fenced = false;
    lines.forEach((text, i) => {
      if (/^\s*(\x60\x60\x60|~~~)/.test(text)) fenced = !fenced;
      const atStart = fenced ? lineStart.exec(text.trimStart()) : null;
      for (const m of [...(atStart ? [atStart] : []), ...text.matchAll(re)]) {
        const words = m[1]!.trim().split(/ +/).filter(Boolean);
        // `sudo -u madoguchi madoguchi …`: the user's name, then the command. The bare name, or the
        // name before an arrow of a diagram, is prose.
        if (words[0] === program || !/^[-a-z]/.test(words[0] ?? '')) continue;
        if (new RegExp(`['"]${program} ${words[0] ?? ''}`).test(serverSource)) continue;
        out.push({ file: d.file, line: i + 1, words });
      }
    });
  }
  return out;
}

/** The command a use names and the options it gives that the command (or the program) does not know. */
function check(program: Command, use: Use): string | null {
  let cmd = program;
  const options = new Set<string>();
  const optionsOf = (c: Command) => {
    for (const o of c.options) {
      if (o.long) options.add(o.long);
      if (o.short) options.add(o.short);
      if (o.negate && o.long) options.add(o.long);
    }
  };
  optionsOf(program);
  options.add('--help').add('-h');
  let named = false;
  const words = [...use.words];
  while (words.length) {
    const w = words[0]!;
    if (w.startsWith('-')) {
      const name = w.split('=')[0]!;
      if (!options.has(name)) return `unknown option ${name} of \`${cmd.name()}\``;
      words.shift();
      // A global option's value (`--data-dir /var/lib/madoguchi`) before the command.
      const opt = cmd.options.find((o) => o.long === name || o.short === name);
      if (opt && (opt.required || opt.optional) && !w.includes('=') && words.length && !words[0]!.startsWith('-')) words.shift();
      continue;
    }
    const sub = cmd.commands.find((c) => c.name() === w || c.aliases().includes(w));
    if (!sub) break;
    cmd = sub;
    named = true;
    optionsOf(sub);
    words.shift();
  }
  if (!named && !use.words.some((w) => ['--help', '-h', '--version', '-V'].includes(w)))
    return use.words.length ? `no command \`${use.words.join(' ')}\`` : 'no command';
  // A group (\`standby\`, \`backup\`) followed by a word that is none of its sub-commands.
  if (cmd.commands.length && words.length && !words[0]!.startsWith('-')) return `no sub-command \`${words[0]}\` of \`${cmd.name()}\``;
  // A group named without its sub-command (`madoguchi backup`) is fine only in prose about the group.
  for (const w of words) {
    if (!w.startsWith('--')) continue;
    const name = w.split('=')[0]!;
    if (!options.has(name)) return `unknown option ${name} of \`${cmd.name()}\``;
  }
  return null;
}

/**
 * The manuals name only commands and options that exist: every `madoguchi …` (and `madoguchi-agent
 * …`) that the README or a document under docs/ tells someone to run resolves to a command of the
 * program's `--help`, with options that command knows. A manual naming a command that was renamed
 * or never written fails here.
 */
describe('the commands the manuals name exist', () => {
  for (const [name, program] of [
    ['madoguchi', buildCli()],
    ['madoguchi-agent', buildAgentCli()],
  ] as const) {
    it(`every \`${name} …\` of the README and docs/ is a command of \`${name} --help\``, () => {
      const found = uses(name);
      expect(found.length, `uses of ${name} in the docs`).to.be.greaterThan(name === 'madoguchi' ? 40 : 3);
      const wrong = found.flatMap((u) => {
        const problem = check(program, u);
        return problem ? [`${u.file}:${u.line}: ${name} ${u.words.join(' ')} — ${problem}`] : [];
      });
      expect(wrong).to.deep.equal([]);
    });
  }

  it('catches a command that does not exist (the check can fail)', () => {
    expect(check(buildCli(), { file: 'x', line: 1, words: ['standby', 'teleport'] })).to.match(/no command|no sub-command|unknown/);
    expect(check(buildCli(), { file: 'x', line: 1, words: ['backup', 'now', '--to-the-moon'] })).to.match(/unknown option/);
    expect(check(buildCli(), { file: 'x', line: 1, words: ['backup', 'now', '--to', '/x'] })).to.equal(null);
  });
});
