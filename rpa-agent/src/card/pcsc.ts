import type { LibraryHandle, TypeObject } from 'koffi';
import { CardError } from './cardError.js';

/**
 * The PC/SC side: WinSCard.dll on Windows, libpcsclite.so.1 on Linux, called directly through the
 * FFI package koffi (MIT; prebuilt addons in its optional packages @koromix/koffi-<platform>, so
 * no compiler is needed). One code path for both; they differ only in the library name, the
 * integer widths and a few constants, all in PCSC_ABI below.
 *
 * Why not pcsc-mini (used before): its Windows build for Node,
 * `@pcsc-mini/windows-x86_64-node@0.1.3`, is not on the npm registry (404); only an Electron build
 * exists, and its addon imports from electron.exe, so it cannot load in node.exe on the counter PCs.
 *
 * koffi and the library are loaded when openReaders is first called, so this module imports on a
 * machine without PC/SC; a missing library is CardError pcscUnavailable. On Linux libpcsclite
 * takes its socket from PCSCLITE_CSOCK_NAME (read once, at the first PC/SC call of the process).
 *
 * Threads: every call that may wait (SCardGetStatusChange, SCardConnect, transactions, SCardTransmit,
 * SCardControl, which on a PIN pad waits for the keys) runs with koffi's async call on a libuv
 * worker thread, never on the event loop; the watch loop keeps one of those threads (4 by default)
 * busy for at most WAIT_MS at a time. The watch loop and the card reads use two contexts, since a
 * context waiting in SCardGetStatusChange is locked for other calls (pcsc-lite) and PC/SC wants a
 * context per thread of use, except for SCardCancel, which is called (synchronously, it does not
 * wait) with the watch loop's context to end its wait on close().
 */

/** One exchange with the card: a C-APDU in, the R-APDU (data and SW1 SW2) out. */
export interface CardLink {
  transmit(apdu: Uint8Array): Promise<Uint8Array>;
  /**
   * Present when the reader has a PIN pad (CCID FEATURE_VERIFY_PIN_DIRECT): the reader builds
   * VERIFY 00 20 00 `p2` with the `pinLength` ASCII digits typed on its keys and returns SW1SW2.
   */
  verifyPinOnPad?(p2: number, pinLength: number): Promise<number>;
}

export interface ReaderSnapshot {
  /** The reader in use: the first one, or the one named in the options; null when there is none. */
  reader: string | null;
  card: 'none' | 'present';
  /** Known after the first connection to a card on this reader. */
  pinPad?: boolean;
}

export interface Readers {
  state(): ReaderSnapshot;
  /** Called whenever the snapshot changes; returns the function that unsubscribes. */
  onChange(cb: (state: ReaderSnapshot) => void): () => void;
  /**
   * Connects to the card (shared, inside a transaction so nothing interleaves), runs `fn`, then
   * disconnects resetting the card, so that a verified PIN or an SM session does not outlive the
   * read. Calls run one after the other. Throws CardError pcscUnavailable / noReader / noCard /
   * unknownCard / readFailed.
   */
  withCard<T>(fn: (link: CardLink) => Promise<T>): Promise<T>;
  /**
   * Stops watching (at once: the pending SCardGetStatusChange is cancelled) and releases the PC/SC
   * contexts once a running read has ended. The promise (which never rejects) tells when that is
   * done; callers that do not care may ignore it.
   */
  close(): Promise<void>;
}

export interface OpenReadersOptions {
  /** Exact reader name, or the start of it; otherwise the first reader PC/SC lists. */
  readerName?: string;
  log?: (msg: string) => void;
  /** How long openReaders waits for the first reader report (ms). */
  settleMs?: number;
}

// ---------- The platform table ----------

/**
 * What differs between WinSCard and pcsc-lite, as koffi type names. Everything else (the function
 * signatures, the struct fields, the constants below) is the same on both.
 */
export interface PcscAbi {
  id: 'linux' | 'win32';
  library: string;
  /** DWORD: flags, counts, lengths, timeouts. */
  dword: string;
  /** LONG: the return value of every function (an SCARD_* code). */
  long: string;
  /** SCARDCONTEXT and SCARDHANDLE. */
  handle: string;
  /** Length of SCARD_READERSTATE.rgbAtr. */
  atrSize: number;
  /** Suffix of the functions that take strings: Windows has A (ANSI) and W variants. */
  ansi: '' | 'A';
  /** WINAPI is __stdcall (koffi ignores it on x64, where there is one convention). */
  convention: '' | '__stdcall';
  /** SCARD_CTL_CODE(code), for SCardControl. */
  ctlCode(code: number): number;
}

export const PCSC_ABI: Record<PcscAbi['id'], PcscAbi> = {
  // /usr/include/PCSC/wintypes.h, pcsclite.h, reader.h (pcsc-lite 1.9.9, Debian libpcsclite-dev):
  // `typedef unsigned long DWORD; typedef long LONG; typedef LONG SCARDCONTEXT, SCARDHANDLE;`
  // (64-bit on x86_64), MAX_ATR_SIZE 33, `#define SCARD_CTL_CODE(code) (0x42000000 + (code))`.
  linux: {
    id: 'linux',
    library: 'libpcsclite.so.1',
    dword: 'unsigned long',
    long: 'long',
    handle: 'long',
    atrSize: 33,
    ansi: '',
    convention: '',
    ctlCode: (code) => 0x42000000 + code,
  },
  // Windows SDK winscard.h / winsmcrd.h: DWORD and LONG are 32-bit (LLP64);
  // `typedef ULONG_PTR SCARDCONTEXT, SCARDHANDLE;` (pointer-sized: 64-bit on x64);
  // SCARD_READERSTATEA ends in `BYTE rgbAtr[36];`; the string functions are SCardListReadersA,
  // SCardConnectA, SCardGetStatusChangeA; `#define SCARD_CTL_CODE(code)
  // CTL_CODE(FILE_DEVICE_SMARTCARD, (code), METHOD_BUFFERED, FILE_ANY_ACCESS)` with
  // FILE_DEVICE_SMARTCARD 0x31, METHOD_BUFFERED 0, FILE_ANY_ACCESS 0 and
  // CTL_CODE(t, f, m, a) = (t << 16) | (a << 14) | (f << 2) | m.
  // Fixed-width names, so that test/unit/pcsc-types.test.ts can check the x64 layout on Linux.
  win32: {
    id: 'win32',
    library: 'WinSCard.dll',
    dword: 'uint32_t',
    long: 'int32_t',
    handle: 'uintptr_t',
    atrSize: 36,
    ansi: 'A',
    convention: '__stdcall',
    ctlCode: (code) => (0x31 << 16) | (code << 2),
  },
};

type Koffi = (typeof import('koffi'))['default'];

/** SCARD_READERSTATE(A) and SCARD_IO_REQUEST for one platform, as koffi types. */
export function pcscStructs(koffi: Koffi, abi: PcscAbi): { readerState: TypeObject; ioRequest: TypeObject } {
  return {
    readerState: koffi.struct({
      szReader: 'const char *',
      pvUserData: 'void *',
      dwCurrentState: abi.dword,
      dwEventState: abi.dword,
      cbAtr: abi.dword,
      rgbAtr: koffi.array('uint8_t', abi.atrSize),
    }),
    // { dwProtocol, cbPciLength }: 8 bytes on Windows, 16 on 64-bit Linux (unsigned long).
    ioRequest: koffi.struct({ dwProtocol: abi.dword, cbPciLength: abi.dword }),
  };
}

// ---------- Constants ----------

/**
 * The SCARD_* values used here, named without the prefix. They are the same in pcsc-lite
 * (pcsclite.h) and the Windows SDK (winscard.h, winsmcrd.h, scarderr.h); test/unit/pcsc-types.test.ts
 * compares each with the macro of the same name in both headers.
 */
export const SCARD = {
  S_SUCCESS: 0,
  F_INTERNAL_ERROR: 0x80100001,
  E_CANCELLED: 0x80100002,
  E_INVALID_HANDLE: 0x80100003,
  E_INVALID_PARAMETER: 0x80100004,
  E_INSUFFICIENT_BUFFER: 0x80100008,
  E_UNKNOWN_READER: 0x80100009,
  E_TIMEOUT: 0x8010000a,
  E_SHARING_VIOLATION: 0x8010000b,
  E_NO_SMARTCARD: 0x8010000c,
  E_PROTO_MISMATCH: 0x8010000f,
  E_NOT_READY: 0x80100010,
  F_COMM_ERROR: 0x80100013,
  E_NOT_TRANSACTED: 0x80100016,
  E_READER_UNAVAILABLE: 0x80100017,
  E_CARD_UNSUPPORTED: 0x8010001c,
  E_NO_SERVICE: 0x8010001d,
  E_SERVICE_STOPPED: 0x8010001e,
  E_NO_READERS_AVAILABLE: 0x8010002e,
  E_COMM_DATA_LOST: 0x8010002f,
  W_UNSUPPORTED_CARD: 0x80100065,
  W_UNRESPONSIVE_CARD: 0x80100066,
  W_UNPOWERED_CARD: 0x80100067,
  W_RESET_CARD: 0x80100068,
  W_REMOVED_CARD: 0x80100069,
  SCOPE_SYSTEM: 2,
  SHARE_SHARED: 2,
  PROTOCOL_T0: 1,
  PROTOCOL_T1: 2,
  LEAVE_CARD: 0,
  RESET_CARD: 1,
  STATE_UNAWARE: 0x0000,
  STATE_CHANGED: 0x0002,
  STATE_UNKNOWN: 0x0004,
  STATE_PRESENT: 0x0020,
} as const;

/** Names for the logs. SCARD_E_UNSUPPORTED_FEATURE is 0x8010001F on pcsc-lite (Windows' SCARD_E_UNEXPECTED), 0x80100022 on Windows. */
const ERROR_NAMES: Record<number, string> = {
  ...Object.fromEntries(
    Object.entries(SCARD)
      .filter(([k]) => /^[EWF]_/.test(k))
      .map(([k, v]) => [v, `SCARD_${k}`]),
  ),
  0x8010001f: 'SCARD_E_UNSUPPORTED_FEATURE or SCARD_E_UNEXPECTED',
  0x80100022: 'SCARD_E_UNSUPPORTED_FEATURE',
};

/** The pseudo-reader whose state changes when readers come or go (`\\?PnP?\Notification`). */
const PNP_NOTIFICATION = '\\\\?PnP?\\Notification';
/** MAX_BUFFER_SIZE_EXTENDED (pcsclite.h): 4 + 3 + 65536 + 3 + 2. */
const RECV_MAX = 65548;
/** GET_FEATURE_REQUEST: SCARD_CTL_CODE(3400), CM_IOCTL_GET_FEATURE_REQUEST in reader.h. */
const GET_FEATURE_REQUEST = 3400;

/** How long one SCardGetStatusChange waits before the loop goes round again (ms). */
const WAIT_MS = 1000;
/** Pause before reconnecting to the PC/SC service after it failed (ms). */
const RETRY_MS = 2000;

/** An SCARD_* code other than success, from one PC/SC function. */
export class PcscError extends Error {
  /** The code as an unsigned 32-bit number, e.g. 0x8010001D. */
  readonly rv: number;
  readonly fn: string;
  constructor(rv: number, fn: string) {
    super(`${fn}: ${pcscErrorName(rv)}`);
    this.name = 'PcscError';
    this.rv = rv;
    this.fn = fn;
  }
}

export const pcscErrorName = (rv: number): string =>
  `${ERROR_NAMES[rv] ?? 'SCARD error'} (0x${rv.toString(16).toUpperCase().padStart(8, '0')})`;

const SHARING_VIOLATION_MESSAGE =
  'ほかのプログラムがカードを使っているため読み取れませんでした。カードを使うほかのソフト (マイナポータル、e-Tax、JPKI 利用者クライアントソフトなど) を閉じてから、もう一度読み取ってください';

/** A PC/SC failure (PcscError's SCARD_* code) → our codes. CardErrors pass through. */
export function fromPcscError(err: unknown, step: string): CardError {
  if (err instanceof CardError) return err;
  const rv = err instanceof PcscError ? err.rv : undefined;
  const detail = `PC/SC ${step}: ${rv === undefined ? (err instanceof Error ? err.message : String(err)) : pcscErrorName(rv)}`;
  switch (rv) {
    case SCARD.E_NO_SERVICE:
    case SCARD.E_SERVICE_STOPPED:
      return new CardError('pcscUnavailable', { detail, cause: err });
    case SCARD.E_NO_READERS_AVAILABLE:
    case SCARD.E_UNKNOWN_READER:
    case SCARD.E_READER_UNAVAILABLE:
      return new CardError('noReader', { detail, cause: err });
    case SCARD.E_NO_SMARTCARD:
    case SCARD.W_REMOVED_CARD:
      return new CardError('noCard', { detail, cause: err });
    case SCARD.W_UNSUPPORTED_CARD:
    case SCARD.E_CARD_UNSUPPORTED:
      return new CardError('unknownCard', { detail, cause: err });
    case SCARD.E_SHARING_VIOLATION: {
      // Another program holds the card (connected exclusively, or in a long transaction).
      const e = new CardError('readFailed', { detail, cause: err });
      e.message = SHARING_VIOLATION_MESSAGE;
      return e;
    }
    default:
      // SCARD_W_UNPOWERED_CARD, SCARD_W_UNRESPONSIVE_CARD, SCARD_W_RESET_CARD, SCARD_E_TIMEOUT,
      // SCARD_E_CANCELLED, communication errors: the card is there but the read failed.
      return new CardError('readFailed', { detail, cause: err });
  }
}

// ---------- The binding ----------

type Handle = number | bigint;

interface ReaderStateIn {
  /** The reader's name as PC/SC gave it, NUL-terminated (ANSI code page on Windows). */
  szReader: Buffer | string;
  pvUserData: null;
  dwCurrentState: number;
  dwEventState: number;
  cbAtr: number;
}

interface Connected {
  handle: Handle;
  protocol: number;
}

interface Binding {
  abi: PcscAbi;
  establish(): Promise<Handle>;
  release(ctx: Handle): Promise<void>;
  /** Synchronous: only wakes the context's pending SCardGetStatusChange. */
  cancel(ctx: Handle): void;
  /** The readers' names, each NUL-terminated as PC/SC wants them back. */
  listReaders(ctx: Handle): Promise<Buffer[]>;
  /** Returns the code (success, timeout, cancelled, …); fills each state's dwEventState. */
  getStatusChange(ctx: Handle, timeoutMs: number, states: ReaderStateIn[]): Promise<number>;
  connect(ctx: Handle, reader: Buffer): Promise<Connected>;
  disconnect(card: Connected, disposition: number): Promise<void>;
  beginTransaction(card: Connected): Promise<void>;
  endTransaction(card: Connected, disposition: number): Promise<void>;
  transmit(card: Connected, apdu: Uint8Array): Promise<Uint8Array>;
  control(card: Connected, code: number, data: Uint8Array): Promise<Uint8Array>;
}

type Fn = ReturnType<LibraryHandle['func']>;

const unsigned = (rv: unknown): number => Number(rv) >>> 0;

function callAsync(fn: Fn, ...args: unknown[]): Promise<number> {
  return new Promise((resolve, reject) => {
    fn.async(...args, (err: unknown, rv: unknown) => (err ? reject(err) : resolve(unsigned(rv))));
  });
}

function check(rv: number, fn: string): void {
  if (rv !== SCARD.S_SUCCESS) throw new PcscError(rv, fn);
}

function bind(koffi: Koffi, abi: PcscAbi): Binding {
  const lib = koffi.load(abi.library);
  const { readerState, ioRequest } = pcscStructs(koffi, abi);
  const pciLength = koffi.sizeof(ioRequest);
  const f = (name: string, args: (string | TypeObject | ReturnType<Koffi['out']>)[]): Fn =>
    abi.convention ? lib.func(abi.convention, name, abi.long, args) : lib.func(name, abi.long, args);
  const { dword, handle } = abi;
  const outDword = koffi.out(koffi.pointer(dword));
  const inoutDword = koffi.inout(koffi.pointer(dword));
  const fns = {
    establish: f('SCardEstablishContext', [dword, 'void *', 'void *', koffi.out(koffi.pointer(handle))]),
    release: f('SCardReleaseContext', [handle]),
    cancel: f('SCardCancel', [handle]),
    listReaders: f(`SCardListReaders${abi.ansi}`, [handle, 'const char *', 'uint8_t *', inoutDword]),
    getStatusChange: f(`SCardGetStatusChange${abi.ansi}`, [handle, dword, koffi.inout(koffi.pointer(readerState)), dword]),
    connect: f(`SCardConnect${abi.ansi}`, [handle, 'const uint8_t *', dword, dword, koffi.out(koffi.pointer(handle)), outDword]),
    disconnect: f('SCardDisconnect', [handle, dword]),
    begin: f('SCardBeginTransaction', [handle]),
    end: f('SCardEndTransaction', [handle, dword]),
    transmit: f('SCardTransmit', [
      handle,
      koffi.pointer(ioRequest),
      'const uint8_t *',
      dword,
      koffi.pointer(ioRequest),
      'uint8_t *',
      inoutDword,
    ]),
    control: f('SCardControl', [handle, dword, 'const uint8_t *', dword, 'uint8_t *', dword, outDword]),
  };

  return {
    abi,
    async establish() {
      const out: Handle[] = [0];
      check(await callAsync(fns.establish, SCARD.SCOPE_SYSTEM, null, null, out), 'SCardEstablishContext');
      return out[0]!;
    },
    async release(ctx) {
      check(await callAsync(fns.release, ctx), 'SCardReleaseContext');
    },
    cancel(ctx) {
      fns.cancel(ctx);
    },
    async listReaders(ctx) {
      for (let attempt = 0; ; attempt++) {
        const len = [0];
        let rv = await callAsync(fns.listReaders, ctx, null, null, len);
        if (rv === SCARD.E_NO_READERS_AVAILABLE) return [];
        check(rv, 'SCardListReaders');
        const buf = Buffer.alloc(Number(len[0]));
        rv = await callAsync(fns.listReaders, ctx, null, buf, len);
        if (rv === SCARD.E_NO_READERS_AVAILABLE) return [];
        // A reader plugged in between the two calls: ask again.
        if (rv === SCARD.E_INSUFFICIENT_BUFFER && attempt < 3) continue;
        check(rv, 'SCardListReaders');
        // A multi-string: names separated by NUL, ended by an empty one.
        const names: Buffer[] = [];
        const all = buf.subarray(0, Number(len[0]));
        for (let start = 0; start < all.length;) {
          const end = all.indexOf(0, start);
          const stop = end < 0 ? all.length : end;
          if (stop > start) names.push(Buffer.concat([all.subarray(start, stop), Buffer.from([0])]));
          start = stop + 1;
        }
        return names;
      }
    },
    getStatusChange(ctx, timeoutMs, states) {
      return callAsync(fns.getStatusChange, ctx, timeoutMs, states, states.length);
    },
    async connect(ctx, reader) {
      const card: Handle[] = [0];
      const protocol = [0];
      check(
        await callAsync(fns.connect, ctx, reader, SCARD.SHARE_SHARED, SCARD.PROTOCOL_T0 | SCARD.PROTOCOL_T1, card, protocol),
        'SCardConnect',
      );
      return { handle: card[0]!, protocol: Number(protocol[0]) };
    },
    async disconnect(card, disposition) {
      check(await callAsync(fns.disconnect, card.handle, disposition), 'SCardDisconnect');
    },
    async beginTransaction(card) {
      check(await callAsync(fns.begin, card.handle), 'SCardBeginTransaction');
    },
    async endTransaction(card, disposition) {
      check(await callAsync(fns.end, card.handle, disposition), 'SCardEndTransaction');
    },
    async transmit(card, apdu) {
      // SCARD_PCI_T0 / SCARD_PCI_T1, built here rather than read from the library's globals.
      const pci = { dwProtocol: card.protocol, cbPciLength: pciLength };
      const recv = Buffer.alloc(RECV_MAX);
      const len = [recv.length];
      check(await callAsync(fns.transmit, card.handle, pci, apdu, apdu.length, null, recv, len), 'SCardTransmit');
      return Uint8Array.from(recv.subarray(0, Number(len[0])));
    },
    async control(card, code, data) {
      const recv = Buffer.alloc(1024);
      const len = [0];
      check(await callAsync(fns.control, card.handle, code, data, data.length, recv, recv.length, len), 'SCardControl');
      return Uint8Array.from(recv.subarray(0, Number(len[0])));
    },
  };
}

let bound: Binding | undefined;

async function loadPcsc(): Promise<Binding> {
  if (bound) return bound;
  const abi = process.platform === 'win32' ? PCSC_ABI.win32 : process.platform === 'linux' ? PCSC_ABI.linux : undefined;
  if (!abi) throw new CardError('pcscUnavailable', { detail: `PC/SC: ${process.platform} is not supported (Linux and Windows only)` });
  let koffi: Koffi;
  try {
    koffi = (await import('koffi')).default;
  } catch (err) {
    throw new CardError('pcscUnavailable', { detail: 'koffi did not load', cause: err });
  }
  try {
    bound = bind(koffi, abi);
  } catch (err) {
    throw new CardError('pcscUnavailable', { detail: `${abi.library} did not load: ${(err as Error).message}`, cause: err });
  }
  return bound;
}

// ---------- PIN pad (UNTESTED: no PIN pad reader was available, and vpcd has no control channel) ----------

const FEATURE_VERIFY_PIN_DIRECT = 0x06;

/**
 * The control code of FEATURE_VERIFY_PIN_DIRECT from GET_FEATURE_REQUEST (SCARD_CTL_CODE(3400):
 * 0x42000D48 on pcsc-lite, 0x313520 on Windows), or null. Readers without control (vpcd here)
 * answer with an error, which means no PIN pad.
 */
async function pinPadControlCode(pcsc: Binding, card: Connected): Promise<number | null> {
  let features: Uint8Array;
  try {
    features = await pcsc.control(card, pcsc.abi.ctlCode(GET_FEATURE_REQUEST), new Uint8Array(0));
  } catch {
    return null;
  }
  for (let i = 0; i + 6 <= features.length; i += 2 + features[i + 1]!) {
    if (features[i] === FEATURE_VERIFY_PIN_DIRECT && features[i + 1] === 4) {
      return ((features[i + 2]! << 24) | (features[i + 3]! << 16) | (features[i + 4]! << 8) | features[i + 5]!) >>> 0;
    }
  }
  return null;
}

/**
 * PIN_VERIFY_STRUCTURE (PC/SC part 10) for a VERIFY with `pinLength` ASCII digits. UNTESTED: no
 * PIN pad reader was available and vpcd has no control channel; check on a real reader first.
 */
function pinVerifyStructure(p2: number, pinLength: number): Uint8Array {
  const apdu = [0x00, 0x20, 0x00, p2, pinLength, ...new Array<number>(pinLength).fill(0x30)];
  return Uint8Array.from([
    0x1e, // bTimerOut: 30 s
    0x1e, // bTimerOut2
    0x82, // bmFormatString: byte units, PIN at offset 0 of the data, left aligned, ASCII
    pinLength, // bmPINBlockString: no length field, block of pinLength bytes
    0x00, // bmPINLengthFormat
    pinLength, // wPINMaxExtraDigit (LE): max digits
    pinLength, //                         min digits
    0x02, // bEntryValidationCondition: OK key
    0x01, // bNumberMessage
    0x11, // wLangId 0x0411 (Japanese), little endian
    0x04,
    0x00, // bMsgIndex
    0x00, // bTeoPrologue
    0x00,
    0x00,
    apdu.length, // ulDataLength (LE, 4 bytes)
    0x00,
    0x00,
    0x00,
    ...apdu,
  ]);
}

// ---------- Readers ----------

interface Entry {
  raw: Buffer;
  /** Unknown until the first SCardGetStatusChange that reports this reader. */
  present: boolean | undefined;
  /** Its last dwEventState, given back as dwCurrentState (Windows keeps an event count in the high word). */
  state: number;
}

/** Errors after which a context is no good: drop it and establish a new one. */
const CONTEXT_LOST = new Set<number>([SCARD.E_NO_SERVICE, SCARD.E_SERVICE_STOPPED, SCARD.E_INVALID_HANDLE]);
const contextLost = (err: unknown): boolean => err instanceof PcscError && CONTEXT_LOST.has(err.rv);

/**
 * Watches the readers and connects to their cards.
 *
 * The watch loop, on its own context, goes round: list the readers (SCardListReaders), then one
 * SCardGetStatusChange over the `\\?PnP?\Notification` pseudo-reader and every reader, each
 * with the state it last reported, waiting up to WAIT_MS on a worker thread. It returns at once
 * when a card is put on or taken off a reader (the PRESENT bit is the card) or, through the PnP
 * entry, when a reader is plugged in or pulled out; otherwise it times out and the loop goes round.
 * The readers are listed every round, not only after a PnP change: pcsc-lite 1.9.9 signals only
 * a change of the reader count during the wait, so a reader plugged in between the listing and
 * the wait would be missed, and where PnP is not known (its state comes back UNKNOWN) it is left
 * out. A listing is one short request to the service per second.
 * When the service fails (pcscd stopped, Windows' SCardSvr stopped after the last reader went),
 * the readers are forgotten and the loop establishes a new context every RETRY_MS. close()
 * cancels the wait with SCardCancel, so the loop ends within moments.
 */
export async function openReaders(opts: OpenReadersOptions = {}): Promise<Readers> {
  const pcsc = await loadPcsc();
  const log = opts.log ?? (() => {});
  let firstCtx: Handle;
  try {
    firstCtx = await pcsc.establish();
  } catch (err) {
    throw fromPcscError(err, 'SCardEstablishContext');
  }

  let entries = new Map<string, Entry>();
  const pinPads = new Map<string, number | null>();
  const listeners = new Set<(s: ReaderSnapshot) => void>();
  let closed = false;
  let serviceDown = false;

  const current = (): string | null => {
    const names = [...entries.keys()];
    const want = opts.readerName;
    if (want === undefined) return names[0] ?? null;
    return names.find((n) => n === want) ?? names.find((n) => n.startsWith(want)) ?? null;
  };
  const snapshot = (): ReaderSnapshot => {
    const name = current();
    const s: ReaderSnapshot = { reader: name, card: name !== null && entries.get(name)?.present ? 'present' : 'none' };
    if (name !== null && pinPads.has(name)) s.pinPad = pinPads.get(name) !== null;
    return s;
  };
  let lastKey = JSON.stringify(snapshot());
  const emit = (): void => {
    const s = snapshot();
    const key = JSON.stringify(s);
    if (key === lastKey) return;
    lastKey = key;
    for (const cb of listeners) {
      try {
        cb(s);
      } catch (err) {
        log(`card reader listener failed: ${(err as Error).message}`);
      }
    }
  };

  const setReaders = (list: Buffer[]): void => {
    const next = new Map<string, Entry>();
    for (const raw of list) {
      const name = raw.subarray(0, raw.length - 1).toString('utf8');
      const known = entries.get(name);
      if (!known) log(`card reader connected: ${name}`);
      next.set(name, known ?? { raw, present: undefined, state: SCARD.STATE_UNAWARE });
    }
    for (const name of entries.keys()) {
      if (next.has(name)) continue;
      pinPads.delete(name);
      log(`card reader gone: ${name}`);
    }
    entries = next;
    emit();
  };

  let settled!: () => void;
  const firstReport = new Promise<void>((resolve) => (settled = resolve));
  let wake: (() => void) | undefined;
  const pause = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      timer.unref();
      wake = done;
    });

  /** The watch loop's context while it has one (for SCardCancel). */
  let watchCtx: Handle | null = firstCtx;
  let pnp = true;
  let pnpState: number = SCARD.STATE_UNAWARE;
  /** Rounds in a row woken by the PnP entry alone with the same readers listed. */
  let pnpOnly = 0;
  let lastList = '';

  const watch = async (): Promise<void> => {
    while (!closed) {
      try {
        if (watchCtx === null) {
          watchCtx = await pcsc.establish();
          pnpState = SCARD.STATE_UNAWARE;
          if (closed) break;
        }
        const ctx = watchCtx;
        setReaders(await pcsc.listReaders(ctx));
        if (entries.size === 0) settled();
        if (serviceDown) {
          serviceDown = false;
          log('PC/SC service is back');
        }
        const names = [...entries.keys()];
        const states: ReaderStateIn[] = names.map((n) => ({
          szReader: entries.get(n)!.raw,
          pvUserData: null,
          dwCurrentState: entries.get(n)!.state,
          dwEventState: 0,
          cbAtr: 0,
        }));
        if (pnp) states.unshift({ szReader: PNP_NOTIFICATION, pvUserData: null, dwCurrentState: pnpState, dwEventState: 0, cbAtr: 0 });
        if (states.length === 0) {
          await pause(WAIT_MS);
          continue;
        }
        if (closed) break;
        const rv = await pcsc.getStatusChange(ctx, WAIT_MS, states);
        // Timeout: nothing changed. Cancelled: close(). A reader gone between the listing and
        // the wait: the next round lists again.
        if (rv === SCARD.E_TIMEOUT || rv === SCARD.E_CANCELLED) continue;
        if (rv === SCARD.E_UNKNOWN_READER || rv === SCARD.E_READER_UNAVAILABLE) {
          await pause(100);
          continue;
        }
        check(rv, 'SCardGetStatusChange');
        let readerChanged = false;
        if (pnp) {
          const ev = unsigned(states.shift()!.dwEventState);
          if (ev & SCARD.STATE_UNKNOWN) {
            pnp = false; // no PnP notification here: readers that come are seen at the next round
            log('PC/SC has no reader notification; listing the readers every round');
          } else {
            pnpState = ev & ~SCARD.STATE_CHANGED;
          }
        }
        names.forEach((name, i) => {
          const ev = unsigned(states[i]!.dwEventState);
          const entry = entries.get(name)!;
          if (ev & SCARD.STATE_CHANGED) readerChanged = true;
          entry.state = ev & ~SCARD.STATE_CHANGED;
          entry.present = (ev & SCARD.STATE_PRESENT) !== 0;
        });
        // Only the PnP entry woke the wait. If that keeps happening while the list stays the same,
        // it is not a real notification (it would make the loop spin): do without it.
        const list = names.join('\n');
        pnpOnly = !readerChanged && list === lastList ? pnpOnly + 1 : 0;
        lastList = list;
        if (pnp && pnpOnly >= 5) {
          pnp = false;
          log('PC/SC reader notification fires without a change; listing the readers every round instead');
        }
        emit();
        settled();
      } catch (err) {
        if (closed) break;
        if (!serviceDown) log(`PC/SC monitor: ${fromPcscError(err, 'watch').detail}; trying again every ${RETRY_MS / 1000} s`);
        serviceDown = true;
        entries.clear();
        emit();
        settled();
        const ctx = watchCtx;
        watchCtx = null;
        if (ctx !== null) await pcsc.release(ctx).catch(() => {});
        await pause(RETRY_MS);
      }
    }
    const ctx = watchCtx;
    watchCtx = null;
    if (ctx !== null) await pcsc.release(ctx).catch(() => {});
  };
  const watching = watch();

  // Let the loop report the readers that are already there (and their cards).
  let settleTimer: NodeJS.Timeout | undefined;
  await Promise.race([firstReport, new Promise<void>((resolve) => (settleTimer = setTimeout(resolve, opts.settleMs ?? 300)))]);
  clearTimeout(settleTimer);

  let cardCtx: Handle | null = null;
  const dropCardCtx = async (): Promise<void> => {
    const ctx = cardCtx;
    cardCtx = null;
    if (ctx !== null) await pcsc.release(ctx).catch(() => {});
  };
  const failed = async (err: unknown, step: string): Promise<CardError> => {
    if (contextLost(err)) await dropCardCtx();
    return fromPcscError(err, step);
  };

  let queue: Promise<unknown> = Promise.resolve();
  const useCard = async <T>(fn: (link: CardLink) => Promise<T>): Promise<T> => {
    if (closed) throw new CardError('pcscUnavailable', { detail: 'readers closed' });
    if (serviceDown) throw new CardError('pcscUnavailable', { detail: 'PC/SC service not reachable' });
    const name = current();
    if (name === null) throw new CardError('noReader');
    const entry = entries.get(name)!;
    if (entry.present === false) throw new CardError('noCard');
    const connect = async (): Promise<Connected> => {
      if (cardCtx === null) {
        try {
          cardCtx = await pcsc.establish();
        } catch (err) {
          throw fromPcscError(err, 'SCardEstablishContext');
        }
      }
      return pcsc.connect(cardCtx, entry.raw);
    };
    let card: Connected;
    try {
      card = await connect().catch(async (err: unknown) => {
        // The service restarted since the last read (the watch loop has seen it back): once more
        // with a new context.
        if (!contextLost(err)) throw err;
        await dropCardCtx();
        return connect();
      });
    } catch (err) {
      throw await failed(err, 'SCardConnect');
    }
    let inTransaction = false;
    try {
      try {
        await pcsc.beginTransaction(card);
        inTransaction = true;
      } catch (err) {
        throw await failed(err, 'SCardBeginTransaction');
      }
      if (!pinPads.has(name)) {
        pinPads.set(name, await pinPadControlCode(pcsc, card));
        emit();
      }
      const padCode = pinPads.get(name) ?? null;
      const link: CardLink = {
        transmit: (apdu) => pcsc.transmit(card, apdu).catch(async (err: unknown) => Promise.reject(await failed(err, 'SCardTransmit'))),
      };
      if (padCode !== null) {
        // UNTESTED (see pinVerifyStructure).
        link.verifyPinOnPad = async (p2, pinLength) => {
          const r = await pcsc
            .control(card, padCode, pinVerifyStructure(p2, pinLength))
            .catch(async (err: unknown) => Promise.reject(await failed(err, 'PIN pad')));
          if (r.length < 2) throw new CardError('readFailed', { detail: 'PIN pad: short answer' });
          return (r[r.length - 2]! << 8) | r[r.length - 1]!;
        };
      }
      return await fn(link);
    } finally {
      if (inTransaction) await pcsc.endTransaction(card, SCARD.LEAVE_CARD).catch(() => {});
      await pcsc.disconnect(card, SCARD.RESET_CARD).catch(() => {});
    }
  };

  let closing: Promise<void> | undefined;
  return {
    state: snapshot,
    onChange(cb) {
      listeners.add(cb);
      return () => listeners.delete(cb);
    },
    withCard<T>(fn: (link: CardLink) => Promise<T>): Promise<T> {
      const run = queue.then(() => useCard(fn));
      queue = run.catch(() => {});
      return run;
    },
    close() {
      if (closing) return closing;
      closed = true;
      listeners.clear();
      wake?.();
      // SCardCancel only wakes a wait that has begun; one still queued for a worker thread would
      // otherwise run its full WAIT_MS, so cancel again until the loop is out.
      const cancel = (): void => {
        if (watchCtx === null) return;
        try {
          pcsc.cancel(watchCtx);
        } catch {
          // nothing to cancel
        }
      };
      cancel();
      const again = setInterval(cancel, 100);
      closing = Promise.all([watching.finally(() => clearInterval(again)), queue.then(dropCardCtx)]).then(
        () => undefined,
        () => undefined,
      );
      return closing;
    },
  };
}
