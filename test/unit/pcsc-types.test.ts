import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import koffi from 'koffi';
import { CardError } from '../../rpa-agent/src/card/cardError.js';
import { fromPcscError, PCSC_ABI, PcscError, pcscStructs, SCARD, type PcscAbi } from '../../rpa-agent/src/card/pcsc.js';

/**
 * The platform table of rpa-agent/src/card/pcsc.ts: the koffi layouts of SCARD_READERSTATE(A) and
 * SCARD_IO_REQUEST and the integer widths, for Linux x86_64 (pcsc-lite) and Windows x64
 * (WinSCard.dll). Windows cannot run here, so its layout is checked in two ways: against the
 * numbers worked out from winscard.h below, and, where the mingw-w64 cross compiler is installed
 * (Debian gcc-mingw-w64-x86-64-win32), against its winscard.h by compiling static assertions
 * for the x64 Windows ABI. Linux is checked the same way against /usr/include/PCSC (Debian
 * libpcsclite-dev) with gcc. Those compiler checks are pending where the compiler or header is
 * missing; nothing is run, only compiled (-fsyntax-only).
 */

const READERSTATE_FIELDS = ['szReader', 'pvUserData', 'dwCurrentState', 'dwEventState', 'cbAtr', 'rgbAtr'] as const;

function layout(abi: PcscAbi) {
  const { readerState, ioRequest } = pcscStructs(koffi, abi);
  return {
    DWORD: koffi.sizeof(abi.dword),
    LONG: koffi.sizeof(abi.long),
    SCARDCONTEXT: koffi.sizeof(abi.handle),
    readerState: {
      size: koffi.sizeof(readerState),
      align: koffi.alignof(readerState),
      offsets: Object.fromEntries(READERSTATE_FIELDS.map((f) => [f, koffi.offsetof(readerState, f)])),
    },
    ioRequest: { size: koffi.sizeof(ioRequest), cbPciLength: koffi.offsetof(ioRequest, 'cbPciLength') },
  };
}

/**
 * A C file that compiles only if the header agrees with koffi's layout and with SCARD, and
 * declares the functions pcsc.ts binds with the parameter types it passes.
 */
function cChecks(abi: PcscAbi): string {
  const l = layout(abi);
  const win = abi.id === 'win32';
  const rs = win ? 'SCARD_READERSTATEA' : 'SCARD_READERSTATE';
  const checks: [string, number][] = [
    ['sizeof(void *)', 8],
    ['sizeof(DWORD)', l.DWORD],
    ['sizeof(LONG)', l.LONG],
    ['sizeof(SCARDCONTEXT)', l.SCARDCONTEXT],
    ['sizeof(SCARDHANDLE)', l.SCARDCONTEXT],
    [`sizeof(${rs})`, l.readerState.size],
    [`_Alignof(${rs})`, l.readerState.align],
    ...READERSTATE_FIELDS.map((f): [string, number] => [`offsetof(${rs}, ${f})`, l.readerState.offsets[f]!]),
    [`sizeof(((${rs} *)0)->rgbAtr)`, abi.atrSize],
    ['sizeof(SCARD_IO_REQUEST)', l.ioRequest.size],
    ['offsetof(SCARD_IO_REQUEST, cbPciLength)', l.ioRequest.cbPciLength],
    ['SCARD_CTL_CODE(3400)', abi.ctlCode(3400)],
    ...Object.entries(SCARD).map(([k, v]): [string, number] => [`SCARD_${k}`, v]),
  ];
  const api = win ? 'WINAPI ' : '';
  const a = abi.ansi;
  const fns = [
    `LONG (${api}*f_establish)(DWORD, LPCVOID, LPCVOID, LPSCARDCONTEXT) = SCardEstablishContext;`,
    `LONG (${api}*f_release)(SCARDCONTEXT) = SCardReleaseContext;`,
    `LONG (${api}*f_cancel)(SCARDCONTEXT) = SCardCancel;`,
    `LONG (${api}*f_list)(SCARDCONTEXT, LPCSTR, LPSTR, LPDWORD) = SCardListReaders${a};`,
    `LONG (${api}*f_status)(SCARDCONTEXT, DWORD, ${rs} *, DWORD) = SCardGetStatusChange${a};`,
    `LONG (${api}*f_connect)(SCARDCONTEXT, LPCSTR, DWORD, DWORD, LPSCARDHANDLE, LPDWORD) = SCardConnect${a};`,
    `LONG (${api}*f_disconnect)(SCARDHANDLE, DWORD) = SCardDisconnect;`,
    `LONG (${api}*f_begin)(SCARDHANDLE) = SCardBeginTransaction;`,
    `LONG (${api}*f_end)(SCARDHANDLE, DWORD) = SCardEndTransaction;`,
    `LONG (${api}*f_transmit)(SCARDHANDLE, const SCARD_IO_REQUEST *, const BYTE *, DWORD, SCARD_IO_REQUEST *, BYTE *, DWORD *) = SCardTransmit;`,
    `LONG (${api}*f_control)(SCARDHANDLE, DWORD, LPCVOID, DWORD, LPVOID, DWORD, LPDWORD) = SCardControl;`,
  ];
  return [
    ...(win ? ['#include <windows.h>', '#include <winscard.h>'] : ['#include <winscard.h>', '#include <reader.h>']),
    '#include <stddef.h>',
    ...checks.map(([expr, v]) => `_Static_assert(((unsigned long long)(${expr}) & 0xFFFFFFFFull) == ${v}ull, "${expr} is not ${v}");`),
    ...fns,
    '',
  ].join('\n');
}

function compile(compiler: string, args: string[], source: string): void {
  const r = spawnSync(compiler, ['-fsyntax-only', '-Werror', '-std=gnu11', '-x', 'c', ...args, '-'], {
    input: source,
    encoding: 'utf8',
    timeout: 30_000,
  });
  expect(r.error, String(r.error)).to.equal(undefined);
  expect(r.status, `${compiler} rejected the checks:\n${r.stderr}`).to.equal(0);
}

const onPath = (cmd: string): boolean => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;

describe('card layer: the PC/SC platform table (koffi layouts)', () => {
  before(function () {
    // Both tables describe 64-bit targets; koffi lays out the Windows x64 one on a 64-bit host.
    if (koffi.sizeof('void *') !== 8) this.skip();
  });

  it('Windows x64: 32-bit DWORD/LONG, 64-bit handles, SCARD_READERSTATEA of 64 bytes with rgbAtr[36] at 28', () => {
    // winscard.h: { LPCSTR szReader; LPVOID pvUserData; DWORD dwCurrentState; DWORD dwEventState;
    // DWORD cbAtr; BYTE rgbAtr[36]; } → 8 + 8 + 4 + 4 + 4 = 28, + 36 = 64, a multiple of the
    // pointers' alignment 8, so no tail padding. SCARD_IO_REQUEST { DWORD dwProtocol; DWORD cbPciLength; }: 8.
    expect(layout(PCSC_ABI.win32)).to.deep.equal({
      DWORD: 4,
      LONG: 4,
      SCARDCONTEXT: 8,
      readerState: {
        size: 64,
        align: 8,
        offsets: { szReader: 0, pvUserData: 8, dwCurrentState: 16, dwEventState: 20, cbAtr: 24, rgbAtr: 28 },
      },
      ioRequest: { size: 8, cbPciLength: 4 },
    });
    expect(PCSC_ABI.win32).to.include({ library: 'WinSCard.dll', ansi: 'A', atrSize: 36 });
    // CTL_CODE(FILE_DEVICE_SMARTCARD 0x31, 3400, METHOD_BUFFERED 0, FILE_ANY_ACCESS 0)
    expect(PCSC_ABI.win32.ctlCode(3400)).to.equal(0x313520);
  });

  it('Linux x86_64: 64-bit DWORD/LONG/handles, SCARD_READERSTATE of 80 bytes with rgbAtr[33] at 40', () => {
    // pcsclite.h: unsigned long fields, so 8 + 8 + 8 + 8 + 8 = 40, + 33 = 73, padded to 80.
    // SCARD_IO_REQUEST { unsigned long dwProtocol; unsigned long cbPciLength; }: 16.
    expect(layout(PCSC_ABI.linux)).to.deep.equal({
      DWORD: 8,
      LONG: 8,
      SCARDCONTEXT: 8,
      readerState: {
        size: 80,
        align: 8,
        offsets: { szReader: 0, pvUserData: 8, dwCurrentState: 16, dwEventState: 24, cbAtr: 32, rgbAtr: 40 },
      },
      ioRequest: { size: 16, cbPciLength: 8 },
    });
    expect(PCSC_ABI.linux).to.include({ library: 'libpcsclite.so.1', ansi: '', atrSize: 33 });
    expect(PCSC_ABI.linux.ctlCode(3400)).to.equal(0x42000d48);
  });

  it('Linux: agrees with the real pcsc-lite header (gcc, /usr/include/PCSC)', function () {
    if (process.platform !== 'linux' || process.arch !== 'x64' || !existsSync('/usr/include/PCSC/winscard.h') || !onPath('gcc')) {
      console.log('      skipped: needs gcc and /usr/include/PCSC (Debian libpcsclite-dev) on linux-x64');
      this.skip();
    }
    compile('gcc', ['-I/usr/include/PCSC'], cChecks(PCSC_ABI.linux));
  });

  it('Windows x64: agrees with the mingw-w64 winscard.h (x86_64-w64-mingw32-gcc)', function () {
    if (!onPath('x86_64-w64-mingw32-gcc')) {
      console.log('      skipped: needs x86_64-w64-mingw32-gcc (Debian gcc-mingw-w64-x86-64-win32)');
      this.skip();
    }
    compile('x86_64-w64-mingw32-gcc', [], cChecks(PCSC_ABI.win32));
  });

  it('the checks themselves fail on a wrong layout', function () {
    if (!existsSync('/usr/include/PCSC/winscard.h') || !onPath('gcc')) this.skip();
    const wrong = { ...PCSC_ABI.linux, atrSize: 36 };
    const r = spawnSync('gcc', ['-fsyntax-only', '-std=gnu11', '-x', 'c', '-I/usr/include/PCSC', '-'], {
      input: cChecks(wrong),
      encoding: 'utf8',
    });
    expect(r.status).to.not.equal(0);
    expect(r.stderr).to.contain('rgbAtr');
  });
});

describe('card layer: PC/SC errors → card errors', () => {
  const code = (rv: number): string => fromPcscError(new PcscError(rv, 'SCardTransmit'), 'transmit').code;

  it('maps the service, reader and card codes', () => {
    expect(code(SCARD.E_NO_SERVICE)).to.equal('pcscUnavailable');
    expect(code(SCARD.E_SERVICE_STOPPED)).to.equal('pcscUnavailable');
    expect(code(SCARD.E_NO_READERS_AVAILABLE)).to.equal('noReader');
    expect(code(SCARD.E_UNKNOWN_READER)).to.equal('noReader');
    expect(code(SCARD.E_READER_UNAVAILABLE)).to.equal('noReader');
    expect(code(SCARD.E_NO_SMARTCARD)).to.equal('noCard');
    expect(code(SCARD.W_REMOVED_CARD)).to.equal('noCard');
    expect(code(SCARD.W_UNSUPPORTED_CARD)).to.equal('unknownCard');
    expect(code(SCARD.E_CARD_UNSUPPORTED)).to.equal('unknownCard');
    for (const rv of [SCARD.W_UNPOWERED_CARD, SCARD.W_UNRESPONSIVE_CARD, SCARD.E_TIMEOUT, SCARD.E_CANCELLED, SCARD.F_COMM_ERROR]) {
      expect(code(rv)).to.equal('readFailed');
    }
  });

  it('says that another program holds the card on a sharing violation, and names the code in detail', () => {
    const err = fromPcscError(new PcscError(SCARD.E_SHARING_VIOLATION, 'SCardConnect'), 'SCardConnect');
    expect(err).to.be.instanceOf(CardError);
    expect(err.code).to.equal('readFailed');
    expect(err.message).to.contain('ほかのプログラムがカードを使っている');
    expect(err.detail).to.equal('PC/SC SCardConnect: SCARD_E_SHARING_VIOLATION (0x8010000B)');
  });

  it('passes CardErrors through and gives readFailed for anything else', () => {
    const mine = new CardError('noCard');
    expect(fromPcscError(mine, 'x')).to.equal(mine);
    expect(fromPcscError(new Error('boom'), 'x')).to.include({ code: 'readFailed', detail: 'PC/SC x: boom' });
  });
});

describe('card layer: loading PC/SC', () => {
  it('imports without PC/SC, and says pcscUnavailable when the library is missing', function () {
    this.timeout(30_000);
    // A child process: the test process may have bound the real library already.
    const pcsc = fileURLToPath(new URL('../../rpa-agent/src/card/pcsc.ts', import.meta.url));
    const script = `
      const m = await import(${JSON.stringify(pcsc)});
      for (const abi of Object.values(m.PCSC_ABI)) abi.library = 'libpcsclite-not-here.so.1';
      try { await m.openReaders(); console.log('opened'); }
      catch (e) { console.log(JSON.stringify({ code: e.code, detail: e.detail })); }
    `;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 25_000 });
    expect(r.status, r.stderr).to.equal(0);
    const got = JSON.parse(r.stdout.trim()) as { code: string; detail: string };
    expect(got.code).to.equal('pcscUnavailable');
    expect(got.detail).to.contain('libpcsclite-not-here.so.1 did not load');
  });
});
