import { WASI, wasi, type Fd } from "@bjorn3/browser_wasi_shim";
import type { DenyRules } from "../../policy/path-rules.js";
import type { DoorCache } from "../host/door-cache.js";
import type { FdTracker } from "../host/fd-tracker.js";
import { HostDirectory } from "../host/host-directory.js";
import { HostFile } from "../host/host-file.js";
import { RunContext } from "../host/run-context.js";
import type { ModuleRunResult, SandboxScope } from "../types.js";
import { fuelGlobal, FuelExhausted, type FuelBudget } from "../inline/fuel.js";
import { newMemory, type SandboxModule } from "./memory-import.js";
import { PreparedInstance } from "./prepared-instance.js";
import { OutputFd, OutputLimitExceeded, StdinFd } from "./stdio.js";

/** What one run needs; everything here is plain data, so it crosses to a worker as a message. */
export interface RunInput {
  name: string;
  args: string[];
  stdin?: Uint8Array;
  scope: SandboxScope;
  maxStdoutBytes: number;
  /** Work-sharing table of the shards of one search (see `warden.claim`). */
  claims?: SharedArrayBuffer;
}

/** Per-worker helpers for a run; each is optional and changes speed only, never what a run may do. */
export interface RunOptions {
  /** A fresh, never-run instance of `module` made ahead of time; one is made here when absent. */
  prepared?: PreparedInstance;
  /** The scope's deny globs, already compiled (a worker caches them by glob list). */
  denyRules?: DenyRules;
  /**
   * Run with a fuel budget (metered modules only, inline/fuel.ts): when it runs out the run stops
   * where it stands and comes back with `fuelExhausted` (its output is then meaningless).
   */
  fuel?: FuelBudget;
  /** The runner's held roots kept open across its runs (host/door-cache.ts); trimmed after the run. */
  doors?: DoorCache;
}

/** A run's result, and for a fuelled run what it spent. */
export interface RunOutcome extends ModuleRunResult {
  fuelExhausted?: true;
  fuelUsed?: number;
}

/** The WASI functions the runtime implements (the shim's, some replaced by `patchImports`). */
export const WASI_FUNCTIONS: ReadonlySet<string> = new Set(Object.keys(new WASI([], [], [], { debug: false }).wasiImport));

const WASI_MODULE = "wasi_snapshot_preview1";
/** The runtime's own import module: `claim(unit) -> i32` (wasm-tools/PROTOCOL.md, search --shard). */
const WARDEN_MODULE = "warden";

/** Every host function a module may import, by import module; anything else fails to link. */
export const RUNTIME_IMPORTS: ReadonlyMap<string, ReadonlySet<string>> = new Map([
  [WASI_MODULE, WASI_FUNCTIONS],
  [WARDEN_MODULE, new Set(["claim"])],
]);

/**
 * `warden.claim(unit)`: 1 when this run is the first of the shards sharing `table` to claim
 * `unit`, 0 when another took it, -1 without a table (or past its end: the module then splits
 * statically). A claim only ever sets a bit: a run can take work, never see another's.
 */
function claimImport(table: SharedArrayBuffer | undefined): (unit: number) => number {
  const words = table ? new Int32Array(table) : null;
  return (unit: number) => {
    const k = unit >>> 0;
    const word = k >>> 5;
    if (words === null || word >= words.length) return -1;
    const bit = 1 << (k & 31);
    return (Atomics.or(words, word, bit) & bit) === 0 ? 1 : 0;
  };
}

/** proc_exit unwinds the module with this; not an Error, so no stack trace is captured per run. */
class ProcExit {
  constructor(readonly code: number) {}
}

/** stderr kept per run (the tail: the last line names the error). */
const MAX_STDERR_BYTES = 64 * 1024;

/** Something that reads straight into wasm memory (host files and stdin). */
interface DirectReader {
  readInto(into: Uint8Array): { ret: number; n: number };
}
interface DirectPReader {
  preadInto(into: Uint8Array, offset: bigint): { ret: number; n: number };
}

/**
 * Runs one instance of `module` to completion on the current thread: fresh instance, the scope's
 * roots as preopens (guest name = host path), no environment. Every host descriptor the run
 * opened is closed before this returns, whatever the module did.
 */
export function runModule(module: SandboxModule, input: RunInput, tracker: FdTracker, options: RunOptions = {}): RunOutcome {
  const started = performance.now();
  const ctx = new RunContext(input.scope, tracker, options.denyRules, options.doors);
  const stdout = new OutputFd(input.maxStdoutBytes, true);
  const stderr = new OutputFd(MAX_STDERR_BYTES, false);
  const fds: Fd[] = [
    new StdinFd(input.stdin ?? new Uint8Array()),
    stdout,
    stderr,
    ...ctx.doors.map((door) => new HostDirectory(ctx, door, door.fd, [], true)),
  ];
  const shim = new WASI([input.name, ...input.args], [], fds, { debug: false });
  patchImports(shim);
  let exitCode: number;
  let note = "";
  let prepared = options.prepared;
  let fuel: WebAssembly.Global | null = null;
  let fuelExhausted = false;
  try {
    prepared ??= new PreparedInstance(module, RUNTIME_IMPORTS, newMemory(module.memory));
    if (options.fuel) {
      fuel = fuelGlobal(prepared.instance);
      fuel.value = options.fuel.budget;
    }
    const imports = { [WASI_MODULE]: shim.wasiImport, [WARDEN_MODULE]: { claim: claimImport(input.claims) } };
    exitCode = start(shim, prepared.bind(imports, fuel !== null && options.fuel ? { global: fuel, cost: options.fuel.hostCallCost } : undefined), prepared.memory);
  } catch (err) {
    exitCode = 1;
    // Out of fuel: a host call refused to start, or the module trapped at a charge point.
    if (err instanceof FuelExhausted || (fuel !== null && err instanceof WebAssembly.RuntimeError && (fuel.value as bigint) < 0n)) {
      fuelExhausted = true;
      note = "EAGAIN: the run used up its fuel budget and was stopped";
    } else if (err instanceof OutputLimitExceeded) note = `EFBIG: output exceeded ${err.limit} bytes and the run was stopped`;
    else if (err instanceof WebAssembly.RuntimeError) note = `EIO: the module trapped: ${err.message}`;
    else note = `EIO: the module failed: ${err instanceof Error ? err.message : String(err)}`;
  } finally {
    prepared?.release();
    // Descriptors are never reused by the shim; close whatever the module left open.
    for (const fd of shim.fds) {
      try {
        fd?.fd_close();
      } catch {
        // closing is best effort; ctx.closeAll() below is the backstop
      }
    }
    ctx.closeAll();
    options.doors?.trim();
  }
  let err = new TextDecoder().decode(stderr.bytes());
  if (note) err += (err === "" || err.endsWith("\n") ? "" : "\n") + note + "\n";
  return {
    exitCode,
    stdout: stdout.bytes(),
    stderr: err,
    denials: ctx.denials,
    timedOut: false,
    durationMs: performance.now() - started,
    ...(stdout.truncated ? { stdoutTruncated: true } : {}),
    ...(fuelExhausted ? { fuelExhausted: true } : {}),
    ...(fuel !== null && options.fuel ? { fuelUsed: Number(options.fuel.budget - (fuel.value as bigint)) } : {}),
  };
}

/** Runs the command's `_start`; the exit code is proc_exit's, or 0 when `_start` returns. */
function start(shim: WASI, instance: WebAssembly.Instance, memory: WebAssembly.Memory): number {
  // The shim reaches memory through `inst.exports.memory`; the module imports it instead.
  shim.inst = { exports: { memory } } as unknown as WASI["inst"];
  try {
    (instance.exports._start as () => void)();
    return 0;
  } catch (err) {
    if (err instanceof ProcExit) return err.code;
    throw err;
  }
}

/**
 * Replaces the shim imports that are wrong or slow for host files: argv sizes count UTF-8 bytes,
 * reads and writes go straight between wasm memory and the host (no per-call copies), rename is the host's (the shim's is in-memory only), links are refused, readlink
 * truncates like POSIX instead of failing.
 */
function patchImports(shim: WASI): void {
  const imports = shim.wasiImport;
  const memory = () => shim.inst.exports.memory;
  const decoder = new TextDecoder();
  const str = (ptr: number, len: number) => decoder.decode(new Uint8Array(memory().buffer, ptr, len));
  const original = { fd_read: imports.fd_read!, fd_pread: imports.fd_pread!, fd_write: imports.fd_write!, fd_readdir: imports.fd_readdir! };

  // 0.4.2 sizes argv by UTF-16 length but writes UTF-8: non-ASCII arguments overflow and get mangled.
  // Both calls use one UTF-8 encoding of the arguments.
  const encoder = new TextEncoder();
  const argv = shim.args.map((a) => encoder.encode(a));
  imports.args_sizes_get = (argcPtr: number, bufSizePtr: number) => {
    const view = new DataView(memory().buffer);
    view.setUint32(argcPtr, argv.length, true);
    view.setUint32(bufSizePtr, argv.reduce((n, a) => n + a.byteLength + 1, 0), true);
    return 0;
  };
  imports.args_get = (argvPtr: number, bufPtr: number) => {
    const mem = memory();
    try {
      const view = new DataView(mem.buffer);
      const bytes = new Uint8Array(mem.buffer);
      let at = bufPtr;
      for (let i = 0; i < argv.length; i++) {
        const a = argv[i]!;
        view.setUint32(argvPtr + 4 * i, at, true);
        bytes.set(a, at);
        view.setUint8(at + a.byteLength, 0);
        at += a.byteLength + 1;
      }
    } catch (err) {
      if (err instanceof RangeError) return wasi.ERRNO_FAULT;
      throw err;
    }
    return 0;
  };
  imports.proc_exit = (code: number) => {
    throw new ProcExit(code);
  };
  // The shim allocates a buffer, a view and a copy per entry; a search lists every directory.
  imports.fd_readdir = (fd: number, buf: number, bufLen: number, cookie: bigint, bufusedPtr: number) => {
    const dir = shim.fds[fd];
    if (!(dir instanceof HostDirectory)) return original.fd_readdir(fd, buf, bufLen, cookie, bufusedPtr);
    const mem = memory();
    try {
      return readdirInto(dir, new DataView(mem.buffer), new Uint8Array(mem.buffer), buf, bufLen, cookie, bufusedPtr);
    } catch (err) {
      if (err instanceof RangeError) return wasi.ERRNO_FAULT;
      throw err;
    }
  };
  imports.fd_read = (fd: number, iovs: number, iovsLen: number, nreadPtr: number) => {
    const obj = shim.fds[fd] as (Fd & Partial<DirectReader>) | undefined;
    if (obj?.readInto === undefined) return original.fd_read(fd, iovs, iovsLen, nreadPtr);
    return vectored(memory(), iovs, iovsLen, nreadPtr, (into) => obj.readInto!(into));
  };
  imports.fd_pread = (fd: number, iovs: number, iovsLen: number, offset: bigint, nreadPtr: number) => {
    const obj = shim.fds[fd] as (Fd & Partial<DirectPReader>) | undefined;
    if (obj?.preadInto === undefined) return original.fd_pread(fd, iovs, iovsLen, offset, nreadPtr);
    let at = offset;
    return vectored(memory(), iovs, iovsLen, nreadPtr, (into) => {
      const r = obj.preadInto!(into, at);
      at += BigInt(r.n);
      return r;
    });
  };
  imports.fd_write = (fd: number, iovs: number, iovsLen: number, nwrittenPtr: number) => {
    const obj = shim.fds[fd];
    if (obj instanceof OutputFd) return vectored(memory(), iovs, iovsLen, nwrittenPtr, (data) => ({ ret: 0, n: obj.append(data) }));
    if (obj instanceof HostFile) {
      return vectored(memory(), iovs, iovsLen, nwrittenPtr, (data) => {
        const { ret, nwritten } = obj.fd_write(data);
        return { ret, n: nwritten };
      });
    }
    return original.fd_write(fd, iovs, iovsLen, nwrittenPtr);
  };
  // The shim decodes every path through a copy and a new TextDecoder; a search opens one per file.
  imports.path_open = (
    fd: number,
    dirflags: number,
    pathPtr: number,
    pathLen: number,
    oflags: number,
    rightsBase: bigint,
    rightsInheriting: bigint,
    fdflags: number,
    openedPtr: number,
  ) => {
    const dir = shim.fds[fd];
    if (dir === undefined) return wasi.ERRNO_BADF;
    let path: string;
    try {
      path = str(pathPtr, pathLen);
    } catch (err) {
      if (err instanceof RangeError) return wasi.ERRNO_FAULT;
      throw err;
    }
    const { ret, fd_obj } = dir.path_open(dirflags, path, oflags, rightsBase, rightsInheriting, fdflags);
    if (ret !== 0 || fd_obj === null) return ret;
    shim.fds.push(fd_obj);
    new DataView(memory().buffer).setUint32(openedPtr, shim.fds.length - 1, true);
    return 0;
  };
  // The shim decodes the path through a copy and a new TextDecoder per call; a listing with sizes stats every entry.
  imports.path_filestat_get = (fd: number, flags: number, pathPtr: number, pathLen: number, filestatPtr: number) => {
    const dir = shim.fds[fd];
    if (dir === undefined) return wasi.ERRNO_BADF;
    try {
      const { ret, filestat } = dir.path_filestat_get(flags, str(pathPtr, pathLen));
      if (filestat !== null) filestat.write_bytes(new DataView(memory().buffer), filestatPtr);
      return ret;
    } catch (err) {
      if (err instanceof RangeError) return wasi.ERRNO_FAULT;
      throw err;
    }
  };
  imports.path_rename = (fd: number, oldPtr: number, oldLen: number, newFd: number, newPtr: number, newLen: number) => {
    const from = shim.fds[fd];
    const to = shim.fds[newFd];
    if (!(from instanceof HostDirectory) || !(to instanceof HostDirectory)) return wasi.ERRNO_BADF;
    return from.renameTo(str(oldPtr, oldLen), to, str(newPtr, newLen));
  };
  imports.path_symlink = (_oldPtr: number, _oldLen: number, fd: number, newPtr: number, newLen: number) => {
    const dir = shim.fds[fd];
    return dir instanceof HostDirectory ? dir.symlink(str(newPtr, newLen)) : wasi.ERRNO_BADF;
  };
  imports.path_link = (_oldFd: number, _flags: number, _oldPtr: number, _oldLen: number, newFd: number, newPtr: number, newLen: number) => {
    const dir = shim.fds[newFd];
    return dir instanceof HostDirectory ? dir.symlink(str(newPtr, newLen)) : wasi.ERRNO_BADF;
  };
  imports.path_readlink = (fd: number, pathPtr: number, pathLen: number, buf: number, bufLen: number, nreadPtr: number) => {
    const dir = shim.fds[fd];
    if (dir === undefined) return wasi.ERRNO_BADF;
    const { ret, data } = dir.path_readlink(str(pathPtr, pathLen));
    if (ret !== 0 || data === null) return ret;
    const bytes = new TextEncoder().encode(data).subarray(0, bufLen);
    new Uint8Array(memory().buffer).set(bytes, buf);
    new DataView(memory().buffer).setUint32(nreadPtr, bytes.byteLength, true);
    return 0;
  };
}

/** Size of a WASI dirent head (d_next u64, d_ino u64, d_namlen u32, d_type u8, padding). */
const DIRENT_HEAD = 24;

/**
 * WASI fd_readdir for a host directory, written straight into the module's buffer: entries from
 * `cookie` on, each a head and its name, until the buffer is full. A head cut off by the end of
 * the buffer is written in part, a name that does not fit not at all, and either is reported as a
 * full buffer (`bufused == bufLen`), which tells wasi-libc to ask again with a larger one: exactly
 * what the shim does.
 */
function readdirInto(dir: HostDirectory, view: DataView, bytes: Uint8Array, buf: number, bufLen: number, cookie: bigint, bufusedPtr: number): number {
  if (buf + bufLen > bytes.byteLength) throw new RangeError("buffer outside memory");
  let used = 0;
  for (;;) {
    const { ret, dirent } = dir.fd_readdir_single(cookie);
    if (ret !== 0) {
      view.setUint32(bufusedPtr, used, true);
      return ret;
    }
    if (dirent === null) break;
    const room = bufLen - used;
    if (room < DIRENT_HEAD) {
      const head = new DataView(new ArrayBuffer(DIRENT_HEAD));
      dirent.write_head_bytes(head, 0);
      bytes.set(new Uint8Array(head.buffer, 0, room), buf + used);
      used = bufLen;
      break;
    }
    dirent.write_head_bytes(view, buf + used);
    bytes.fill(0, buf + used + 21, buf + used + DIRENT_HEAD); // padding after d_type
    used += DIRENT_HEAD;
    const nameLen = dirent.name_length();
    if (bufLen - used < nameLen) {
      used = bufLen;
      break;
    }
    dirent.write_name_bytes(bytes, buf + used, nameLen);
    used += nameLen;
    cookie = dirent.d_next;
  }
  view.setUint32(bufusedPtr, used, true);
  return 0;
}

/**
 * Moves bytes between the module's iovecs (views straight on its memory) and a host object, in
 * order, stopping at the first short transfer; the count goes to `countPtr`. An iovec outside
 * memory is EFAULT. (WASI's iovec and ciovec have the same layout.)
 */
function vectored(
  mem: WebAssembly.Memory,
  iovs: number,
  iovsLen: number,
  countPtr: number,
  transfer: (view: Uint8Array) => { ret: number; n: number },
): number {
  const view = new DataView(mem.buffer);
  let total = 0;
  try {
    for (const iov of wasi.Iovec.read_bytes_array(view, iovs, iovsLen)) {
      const { ret, n } = transfer(new Uint8Array(mem.buffer, iov.buf, iov.buf_len));
      if (ret !== 0) {
        view.setUint32(countPtr, total, true);
        return ret;
      }
      total += n;
      if (n < iov.buf_len) break;
    }
  } catch (err) {
    if (err instanceof RangeError) return wasi.ERRNO_FAULT;
    throw err;
  }
  view.setUint32(countPtr, total, true);
  return 0;
}
