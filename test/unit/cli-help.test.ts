import { expect } from 'chai';
import type { Command } from 'commander';
import { buildCli } from '../../server/src/cli/index.js';

const JAPANESE = /[\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Han}]/u;

/** The program and every nested sub-command. */
function walk(cmd: Command): Command[] {
  return [cmd, ...cmd.commands.flatMap(walk)];
}

const pathOf = (cmd: Command): string => (cmd.parent ? `${pathOf(cmd.parent)} ${cmd.name()}` : cmd.name());

/**
 * The descriptions of a help text: the paragraph under the usage line, and the description of each
 * item (argument, option, command) with the lines it wraps onto. Items are `  TERM  DESCRIPTION`
 * (two spaces before the term, at least two after it); a wrapped line is indented further.
 */
function descriptions(help: string): { term: string; text: string }[] {
  const lines = help.split('\n');
  const out: { term: string; text: string }[] = [];
  let i = 1;
  while (i < lines.length && lines[i] === '') i++;
  const paragraph: string[] = [];
  // The command description stands between the usage line and the first heading.
  while (i < lines.length && !/^\S.*:$/.test(lines[i]!)) paragraph.push(lines[i++]!);
  if (paragraph.join('').trim()) out.push({ term: '(command description)', text: paragraph.join(' ').trim() });
  for (; i < lines.length; i++) {
    const item = /^ {2}(\S.*?)(?: {2,}(.*))?$/.exec(lines[i]!);
    if (item) out.push({ term: item[1]!, text: item[2] ?? '' });
    else if (/^ {3,}\S/.test(lines[i]!) && out.length) out[out.length - 1]!.text += ' ' + lines[i]!.trim();
  }
  return out;
}

/** `madoguchi --help` and the help of every sub-command are Japanese, commander's own words included. */
describe('command line help (server/src/cli)', () => {
  const commands = walk(buildCli());

  it('reaches every command group', () => {
    const paths = commands.map(pathOf);
    expect(paths).to.include.members([
      'madoguchi',
      'madoguchi ingest',
      'madoguchi staff import',
      'madoguchi backup verify',
      'madoguchi restore',
    ]);
  });

  it("uses Japanese headings and commander's texts in Japanese for every command", () => {
    for (const cmd of commands) {
      const help = cmd.helpInformation();
      expect(help, pathOf(cmd)).to.match(/^使い方: /);
      for (const english of [
        'Usage:',
        'Options:',
        'Commands:',
        'Arguments:',
        'display help',
        'output the version',
        '(default:',
        '(env:',
        'choices:',
      ])
        expect(help, `${pathOf(cmd)}: ${english}\n${help}`).to.not.contain(english);
      expect(help, pathOf(cmd)).to.contain('-h, --help').and.contain('ヘルプを表示');
    }
    // Descriptions wrap at spaces and between Japanese characters: compare them without spaces.
    const squeeze = (s: string) => s.replace(/\s+/g, '');
    const helpOf = (path: string) => squeeze(commands.find((c) => pathOf(c) === path)!.helpInformation());
    for (const text of [
      'オプション:',
      'コマンド:',
      'バージョンを表示',
      'help [command]',
      'コマンドのヘルプを表示',
      '(既定: "./data"',
      '環境変数: MADOGUCHI_DATA_DIR',
    ])
      expect(helpOf('madoguchi')).to.contain(squeeze(text));
    for (const text of ['引数:', '(選べる値: "auto", "utf8", "cp932")']) expect(helpOf('madoguchi ingest')).to.contain(squeeze(text));
  });

  it('describes every command, argument and option in Japanese (no English-only description)', () => {
    const english: string[] = [];
    for (const cmd of commands)
      for (const d of descriptions(cmd.helpInformation())) if (!JAPANESE.test(d.text)) english.push(`${pathOf(cmd)}: ${d.term}: ${d.text}`);
    expect(english).to.deep.equal([]);
  });
});
