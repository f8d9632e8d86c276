import type { wasi } from "@bjorn3/browser_wasi_shim";

/**
 * A WASI dirent as the shim's `fd_readdir` writes it (24-byte head: d_next@0, d_ino@8,
 * d_namlen@16, d_type@20, then the name), with its name already encoded. The shim's `Dirent`
 * builds a TextEncoder per entry and copies the name again on every write; a listing encodes each
 * name once with one encoder and writes it without a copy.
 */
export class HostDirent implements wasi.Dirent {
  readonly d_namlen: number;

  constructor(
    readonly d_next: bigint,
    readonly d_ino: bigint,
    readonly dir_name: Uint8Array,
    readonly d_type: number,
  ) {
    this.d_namlen = dir_name.byteLength;
  }

  head_length(): number {
    return 24;
  }

  name_length(): number {
    return this.dir_name.byteLength;
  }

  write_head_bytes(view: DataView, ptr: number): void {
    view.setBigUint64(ptr, this.d_next, true);
    view.setBigUint64(ptr + 8, this.d_ino, true);
    view.setUint32(ptr + 16, this.dir_name.byteLength, true);
    view.setUint8(ptr + 20, this.d_type);
  }

  write_name_bytes(view8: Uint8Array, ptr: number, bufLen: number): void {
    view8.set(bufLen < this.dir_name.byteLength ? this.dir_name.subarray(0, bufLen) : this.dir_name, ptr);
  }
}
