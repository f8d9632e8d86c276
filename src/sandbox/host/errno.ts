import { wasi } from "@bjorn3/browser_wasi_shim";

const BY_CODE: Record<string, number> = {
  EACCES: wasi.ERRNO_ACCES,
  EAGAIN: wasi.ERRNO_AGAIN,
  EBADF: wasi.ERRNO_BADF,
  EBUSY: wasi.ERRNO_BUSY,
  EDQUOT: wasi.ERRNO_DQUOT,
  EEXIST: wasi.ERRNO_EXIST,
  EFBIG: wasi.ERRNO_FBIG,
  EINVAL: wasi.ERRNO_INVAL,
  EIO: wasi.ERRNO_IO,
  EISDIR: wasi.ERRNO_ISDIR,
  ELOOP: wasi.ERRNO_LOOP,
  EMFILE: wasi.ERRNO_MFILE,
  EMLINK: wasi.ERRNO_MLINK,
  ENAMETOOLONG: wasi.ERRNO_NAMETOOLONG,
  ENFILE: wasi.ERRNO_NFILE,
  ENODEV: wasi.ERRNO_NODEV,
  ENOENT: wasi.ERRNO_NOENT,
  ENOMEM: wasi.ERRNO_NOMEM,
  ENOSPC: wasi.ERRNO_NOSPC,
  ENOTDIR: wasi.ERRNO_NOTDIR,
  ENOTEMPTY: wasi.ERRNO_NOTEMPTY,
  ENOTSUP: wasi.ERRNO_NOTSUP,
  EOPNOTSUPP: wasi.ERRNO_NOTSUP,
  ENXIO: wasi.ERRNO_NXIO,
  EOVERFLOW: wasi.ERRNO_OVERFLOW,
  EPERM: wasi.ERRNO_PERM,
  EROFS: wasi.ERRNO_ROFS,
  ESPIPE: wasi.ERRNO_SPIPE,
  ETXTBSY: wasi.ERRNO_TXTBSY,
  EXDEV: wasi.ERRNO_XDEV,
};

/** The WASI errno for a Node fs exception (EIO when it is not a system error we know). */
export function errnoOf(err: unknown): number {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" ? (BY_CODE[code] ?? wasi.ERRNO_IO) : wasi.ERRNO_IO;
}

/** The Node error code behind an exception, or "" (used to branch on ENOENT and friends). */
export function codeOf(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : "";
}
