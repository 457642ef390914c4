import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { missingGlyphs } from '../../server/src/i18n/guideFonts.js';
import { guideParagraphs, guideTexts, renderGuideIn, type LocalizableGuide } from '../../server/src/i18n/guidePdf.js';
import { loadLanguages, type Languages } from '../../server/src/i18n/languages.js';
import { procedureGuide } from '../../server/src/notices/procedureGuide.js';
import { MissingGlyphError } from '../../server/src/printing/render.js';
import { loadProcedures, type ProcedureCatalog } from '../../server/src/procedures/config.js';
import { getAs } from '../helpers/http.js';
import { loginAs } from '../helpers/login.js';
import { acceptedMoveIn } from '../helpers/moveInVisit.js';
import { configDir, tempDir } from '../helpers/paths.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

/** The fonts each language's guide embeds: its own family, and IPAexゴシック for the town, counters and Japanese texts. */
const EXPECTED_FONTS: Record<string, string[]> = {
  ja: ['IPAexGothic', 'IPAmjMincho'],
  'ja-easy': ['IPAexGothic'],
  en: ['DejaVuSans', 'DejaVuSans-Bold', 'IPAexGothic'],
  'zh-CN': ['BousungEG-Light-GB', 'IPAexGothic'],
  ko: ['IPAexGothic', 'LexiGulim'],
  vi: ['DejaVuSans', 'DejaVuSans-Bold', 'IPAexGothic'],
  pt: ['DejaVuSans', 'DejaVuSans-Bold', 'IPAexGothic'],
  fil: ['DejaVuSans', 'DejaVuSans-Bold', 'IPAexGothic'],
  ne: ['IPAexGothic', 'Lohit-Devanagari'],
};

/** The languages whose texts of the 転入 procedures are all translated (the others fall back to Japanese). */
const FULL = ['ja-easy', 'en', 'zh-CN', 'ko', 'vi', 'pt'];

/**
 * The procedure guide of a 4-person 転入 in each language (issue 20): every glyph in the fonts
 * (checked before printing), the fonts embedded, and a translated heading read back from the PDF.
 */
describe('the procedure guide in nine languages', function () {
  this.timeout(60_000);
  let server: TestServer;
  let catalog: ProcedureCatalog;
  let languages: Languages;
  let guide: LocalizableGuide;
  let town: string;
  let japaneseRoutePdf: Buffer;
  let clerk: Awaited<ReturnType<typeof loginAs>>;
  let visitId: number;

  before(async () => {
    server = await startTestServer();
    clerk = await loginAs(server.url, server.knex, ['counter']);
    ({ visitId } = await acceptedMoveIn(server.url, server.knex, clerk));
    // The Japanese guide as the route prints it (printing/visitPrint.ts), read to the end.
    const route = await getAs(`${server.url}visits/${visitId}/guide.pdf`, clerk);
    expect(route.status).to.equal(200);
    japaneseRoutePdf = Buffer.from(await route.arrayBuffer());
    catalog = loadProcedures(configDir, server.config.counters);
    guide = (await procedureGuide(server.knex, visitId, catalog.byId, server.config.counters))!;
    languages = loadLanguages(configDir, catalog.all);
    town = `${server.config.municipality.county ?? ''}${server.config.municipality.name}`;
  });
  after(async () => {
    await server?.close();
  });

  const ids = () => guide.items.map((i) => catalog.all.find((p) => p.name === i.name)?.id);

  it('holds the procedures of the 転入 (the guide of the forms test)', () => {
    expect(ids()).to.not.include(undefined);
    expect(ids()).to.include.members([
      'nhiEnrol',
      'sealRegistration',
      'childAllowanceClaim',
      'childMedical',
      'careQualify',
      'schoolTransfer',
    ]);
    expect(guide.items.length).to.be.greaterThan(6);
  });

  for (const code of ['ja', 'ja-easy', 'en', 'zh-CN', 'ko', 'vi', 'pt', 'fil', 'ne']) {
    it(`${code}: every glyph in its fonts, the fonts embedded, the headings read back`, async () => {
      const paragraphs = guideParagraphs(code, guide, town, languages);
      expect(missingGlyphs(code, guideTexts(paragraphs), languages)).to.deep.equal([]);

      const file = path.join(server.dir, `guide-${code}.pdf`);
      writeFileSync(file, await renderGuideIn(code, guide, town, languages));

      const fonts = execFileSync('pdffonts', [file], { encoding: 'utf8' })
        .split('\n')
        .slice(2)
        .filter((l) => l.trim())
        .map((l) => l.split(/\s+/));
      // name, type…, emb, sub, uni: every font embedded as a subset with a Unicode map.
      for (const f of fonts) expect(f.slice(-5, -2), f.join(' ')).to.deep.equal(['yes', 'yes', 'yes']);
      expect(fonts.map((f) => f[0]!.replace(/^[A-Z]{6}\+/, '')).sort()).to.deep.equal(EXPECTED_FONTS[code]);

      const text = execFileSync('pdftotext', ['-raw', file, '-'], { encoding: 'utf8' });
      const lines = text.split('\n');
      // A procedure's translated name, a heading of the guide. (Nepali: a name without the vowel
      // sign ि or a reph, which the PDF's text layer gives back in visual order.)
      const name = languages.procedure(code, catalog.byId('childAllowanceClaim')!).name;
      expect(lines, `${code}: ${name}\n${text}`).to.include(name);
      if (code === 'ja') {
        // The same content as the Japanese guide the route prints (printing/visitPrint.ts), whose
        // 済 / □ marks are drawn boxes here, with the footer after it.
        const routeFile = path.join(server.dir, 'guide-route.pdf');
        writeFileSync(routeFile, japaneseRoutePdf);
        const flat = (s: string) => s.replace(/\s+/g, '');
        const route = execFileSync('pdftotext', ['-raw', routeFile, '-'], { encoding: 'utf8' }).replace(/^(□|済) /gm, '');
        expect(flat(text)).to.contain(flat(route));
        expect(text).to.contain(languages.t('ja', 'guide.footer'));
      }
      if (code !== 'ne') {
        const heading = languages.t(code, 'guide.remaining', { count: guide.items.filter((i) => !i.done).length });
        expect(lines, `${code}: ${heading}\n${text}`).to.include(heading);
      }
    });
  }

  it('prints the guide in the resident’s language through the visit’s route (lang), and refuses an unknown one', async () => {
    const en = await getAs(`${server.url}visits/${visitId}/guide.pdf?lang=en`, clerk);
    expect(en.status).to.equal(200);
    const file = path.join(server.dir, 'guide-en.pdf');
    writeFileSync(file, Buffer.from(await en.arrayBuffer()));
    const text = execFileSync('pdftotext', ['-raw', file, '-'], { encoding: 'utf8' });
    expect(text).to.include(languages.t('en', 'guide.remaining', { count: guide.items.filter((i) => !i.done).length }));
    const page = await (await getAs(`${server.url}visits/${visitId}`, clerk)).text();
    expect(page).to.include('id="guide-lang"').and.include('<option value="en">English</option>').and.include('한국어');
    expect((await getAs(`${server.url}visits/${visitId}/guide.pdf?lang=xx`, clerk)).status).to.equal(400);
  });

  it('explains every procedure of the 転入 in ja-easy, en, zh-CN, ko, vi and pt (nothing falls back to Japanese)', () => {
    for (const code of FULL)
      for (const id of ids()) {
        const p = languages.procedure(code, catalog.byId(id!)!);
        const wanted = { name: code, guidance: code, bring: catalog.byId(id!)!.bring.length ? code : 'ja' };
        expect(p.from, `${code} ${id}`).to.deep.equal(wanted);
      }
    // fil and ne: the names are translated, the guidance and things to bring print in Japanese.
    const nhi = languages.procedure('ne', catalog.byId('nhiEnrol')!);
    expect(nhi.from).to.deep.equal({ name: 'ne', guidance: 'ja', bring: 'ja' });
    expect(
      guideTexts(guideParagraphs('ne', guide, town, languages)).find((t) => t.field === 'procedures.nhiEnrol.guidance'),
    ).to.deep.include({
      script: 'ja',
    });
  });

  it('refuses to print a guide whose translation has a character its font lacks, naming it', async () => {
    const t = tempDir();
    try {
      cpSync(path.join(configDir, 'languages'), path.join(t.dir, 'languages'), { recursive: true });
      const ko = path.join(t.dir, 'languages', 'ko.yaml');
      // 節次 (漢字語 in Hanja): LexiGulim has no Han characters.
      writeFileSync(ko, readFileSync(ko, 'utf8').replace('guide.title: "{town} 절차 안내"', 'guide.title: "{town} 節次 안내"'));
      const withHanja = loadLanguages(t.dir, catalog.all);
      const missing = missingGlyphs('ko', guideTexts(guideParagraphs('ko', guide, town, withHanja)), withHanja);
      expect(missing.map((m) => [m.field, m.char, m.codePoint, m.font])).to.deep.equal([
        ['guide.title', '節', 'U+7BC0', 'LexiGulim'],
        ['guide.title', '次', 'U+6B21', 'LexiGulim'],
      ]);
      let error: unknown;
      await renderGuideIn('ko', guide, town, withHanja).catch((e: unknown) => (error = e));
      expect(error).to.be.instanceOf(MissingGlyphError);
      expect((error as Error).message).to.match(/guide\.title: 文字「節」\(U\+7BC0\) がフォント LexiGulim にありません/);
    } finally {
      t.remove();
    }
  });
});
