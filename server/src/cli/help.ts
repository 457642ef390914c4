import { stripVTControlCharacters } from 'node:util';
import type { Argument, Command, HelpConfiguration, Option } from 'commander';

/** commander's headings (they reach the help only through `styleTitle`) and their Japanese. */
const HEADINGS: Record<string, string> = {
  'Usage:': '使い方:',
  'Arguments:': '引数:',
  'Options:': 'オプション:',
  'Global Options:': '共通オプション:',
  'Commands:': 'コマンド:',
};

/** Full-width characters (kana, kanji, full-width forms): two columns on a terminal, and a line may break beside them. */
const WIDE_CHARS = String.raw`\u1100-\u115f\u2e80-\u303e\u3041-\u33ff\u3400-\u4dbf\u4e00-\u9fff\ua000-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6\u{20000}-\u{3fffd}`;
const WIDE = new RegExp(`[${WIDE_CHARS}]`, 'u');
/** The units a line breaks between: one wide character, or a run of other characters, each with the spaces before it. */
const TOKEN = new RegExp(`\\s*(?:[${WIDE_CHARS}]|[^\\s${WIDE_CHARS}]+)`, 'gu');
/** 禁則: characters that do not start a line, and characters that do not end one. */
const NO_START = /^\s*[、。，．・：；？！）」』】〕ーぁぃぅぇぉっゃゅょァィゥェォッャュョ…〜),.:;!?\]]/u;
const NO_END = /[（「『【〔([]$/u;

/** Whether a line may break between two tokens: at a space, or beside a wide character (not against 禁則). */
function breakable(prev: string, next: string): boolean {
  if (NO_START.test(next) || NO_END.test(prev)) return false;
  return /^\s/.test(next) || WIDE.test(prev.slice(-1)) || WIDE.test(next.trimStart().slice(0, 1));
}

/** One line wrapped to `width` columns. */
function wrapLine(line: string, width: number, displayWidth: (s: string) => number): string[] {
  const tokens = line.match(TOKEN) ?? [];
  if (!tokens.length) return [''];
  const lines: string[] = [];
  let start = 0;
  while (start < tokens.length) {
    tokens[start] = tokens[start]!.trimStart();
    let end = start + 1;
    let used = displayWidth(tokens[start]!);
    while (end < tokens.length && used + displayWidth(tokens[end]!) <= width) used += displayWidth(tokens[end++]!);
    if (end < tokens.length) {
      // Back to the last place a line may break; without one, the line overflows to the next (as a
      // long word does in commander's wrapping).
      let j = end;
      while (j > start + 1 && !breakable(tokens[j - 1]!, tokens[j]!)) j--;
      if (breakable(tokens[j - 1]!, tokens[j]!)) end = j;
      else while (end < tokens.length && !breakable(tokens[end - 1]!, tokens[end]!)) end++;
    }
    lines.push(tokens.slice(start, end).join(''));
    start = end;
  }
  return lines;
}

/** `(既定: x、環境変数: X)` after a description, as commander writes `(default: x, env: X)`. */
function withExtra(description: string, extra: string[]): string {
  if (!extra.length) return description;
  return description ? `${description} (${extra.join('、')})` : `(${extra.join('、')})`;
}

/**
 * commander's Help in Japanese. commander 14 has no setting for its headings or for the words it
 * adds after a description, so the few small methods that produce them are replaced here rather
 * than `formatHelp`, whose layout (wrapping, groups, global options) stays commander's own:
 * - `styleTitle` receives every heading ('Usage:', 'Options:', …) on its way out;
 * - `optionDescription` / `argumentDescription` are commander's, with 既定・環境変数・選べる値;
 * - `displayWidth` counts a kanji or kana as two columns (commander counts every character as one)
 *   and `boxWrap` may break a line between Japanese characters (commander breaks only at spaces,
 *   which Japanese has few of), so that long descriptions wrap within the terminal's width.
 */
const japaneseHelp: HelpConfiguration = {
  styleTitle(str: string): string {
    return HEADINGS[str] ?? str;
  },

  optionDescription(option: Option): string {
    const extra: string[] = [];
    if (option.argChoices) extra.push(`選べる値: ${option.argChoices.map((c) => JSON.stringify(c)).join(', ')}`);
    // As commander: a flag's default is shown only when it is a boolean.
    const showDefault = option.required || option.optional || (option.isBoolean() && typeof option.defaultValue === 'boolean');
    if (option.defaultValue !== undefined && showDefault)
      extra.push(`既定: ${option.defaultValueDescription || JSON.stringify(option.defaultValue)}`);
    if (option.presetArg !== undefined && option.optional) extra.push(`値を省略したとき: ${JSON.stringify(option.presetArg)}`);
    if (option.envVar !== undefined) extra.push(`環境変数: ${option.envVar}`);
    return withExtra(option.description, extra);
  },

  argumentDescription(argument: Argument): string {
    const extra: string[] = [];
    if (argument.argChoices) extra.push(`選べる値: ${argument.argChoices.map((c) => JSON.stringify(c)).join(', ')}`);
    if (argument.defaultValue !== undefined)
      extra.push(`既定: ${argument.defaultValueDescription || JSON.stringify(argument.defaultValue)}`);
    return withExtra(argument.description, extra);
  },

  displayWidth(str: string): number {
    let width = 0;
    for (const ch of stripVTControlCharacters(str)) width += WIDE.test(ch) ? 2 : 1;
    return width;
  },

  boxWrap(str: string, width: number): string {
    if (width < (this.minWidthToWrap ?? 40)) return str;
    const displayWidth = (s: string) => this.displayWidth!(s);
    return str
      .split(/\r\n|\n/)
      .flatMap((line) => wrapLine(line, width, displayWidth))
      .join('\n');
  },
};

/**
 * Makes the help of `cmd` and of every command under it Japanese. Applied once the whole tree is
 * built: commander copies the help settings only to sub-commands made by `.command()` after the
 * settings, so setting them on the program alone would miss anything added otherwise.
 */
export function localizeHelp(cmd: Command): void {
  cmd.configureHelp({ ...cmd.configureHelp(), ...japaneseHelp }).helpOption('-h, --help', 'ヘルプを表示');
  // commander adds `help [command]` by itself to a command with sub-commands (and no action of its
  // own; no command here has both). Naming it forces it, so only those commands get it.
  if (cmd.commands.length && !cmd.commands.some((c) => c.name() === 'help')) cmd.helpCommand('help [command]', 'コマンドのヘルプを表示');
  for (const sub of cmd.commands) localizeHelp(sub);
}
