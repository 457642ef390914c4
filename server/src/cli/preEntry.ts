import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadLanguages, type Languages } from '../i18n/languages.js';
import { preEntryStringsScript } from '../i18n/preEntryStrings.js';
import { PRE_ENTRY_STATIC_FILES } from '../http/views/preEntry.js';

/** The page's files as the appliance serves them under /static/pre-entry/ (views/preEntry.ts). */
const PAGE_ROUTE = '/static/pre-entry/';
export const STRINGS_FILE = 'strings.js';
const LOGO_FILE = 'logo.png';
/** index.html's logo line, commented out until the folder has a logo.png. */
const LOGO_COMMENTED = '<!-- <img src="logo.png" alt="" class="logo"> -->';
const LOGO_SHOWN = '<img src="logo.png" alt="" class="logo" />';

export interface PublishedFile {
  name: string;
  bytes: number;
}

/**
 * Writes the complete pre-entry page into `dir` (made if missing): the appliance's static files
 * of the page and strings.js made from `<configDir>/languages`. Other files of the folder (the
 * municipality's logo.png) stay; with a logo.png there, index.html shows it. The languages are
 * read (and checked) before anything is written, and each file is replaced whole (written beside
 * it, then renamed), so a web server serving the folder never sends half a file.
 */
export function publishPreEntry(configDir: string, dir: string): { files: PublishedFile[]; logo: boolean; languages: Languages } {
  const languages = loadLanguages(configDir);
  const logo = existsSync(path.join(dir, LOGO_FILE));
  const contents: [string, Buffer | string][] = [];
  for (const [route, f] of Object.entries(PRE_ENTRY_STATIC_FILES)) {
    if (!route.startsWith(PAGE_ROUTE)) continue;
    const name = route.slice(PAGE_ROUTE.length);
    let body: Buffer | string = readFileSync(f.file);
    if (name === 'index.html' && logo) body = body.toString('utf8').replace(LOGO_COMMENTED, LOGO_SHOWN);
    contents.push([name, body]);
  }
  contents.push([STRINGS_FILE, preEntryStringsScript(languages)]);

  mkdirSync(dir, { recursive: true });
  const files: PublishedFile[] = [];
  for (const [name, body] of contents) {
    const target = path.join(dir, name);
    const temp = path.join(dir, `.${name}.${process.pid}.tmp`);
    writeFileSync(temp, body);
    renameSync(temp, target);
    files.push({ name, bytes: Buffer.byteLength(body) });
  }
  return { files, logo, languages };
}
