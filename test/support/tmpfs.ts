import { execFileSync } from "node:child_process";
import { closeSync, mkdirSync, openSync, unlinkSync, writeSync } from "node:fs";
import { join } from "node:path";

/** A real small filesystem for disk-full tests: a tmpfs mounted at `dir` (needs root). */
export interface SmallDisk {
  dir: string;
  /** Fills every free byte with a filler file (the disk is then full to the last page). */
  fill(): void;
  /** Removes the filler. */
  free(): void;
  unmount(): void;
}

/** Mounts a `size` tmpfs at `dir`; the reason when that is not permitted here (not root, no mount). */
export function mountSmallDisk(dir: string, size = "256k"): SmallDisk | { skip: string } {
  mkdirSync(dir, { recursive: true });
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", `size=${size},mode=0700`, "tmpfs", dir], { stdio: "pipe" });
  } catch (err) {
    return { skip: `cannot mount a tmpfs at ${dir} (${String((err as { stderr?: Buffer }).stderr ?? err).trim()}): disk-full tests need root` };
  }
  const filler = join(dir, ".filler");
  return {
    dir,
    fill() {
      const fd = openSync(filler, "a");
      try {
        for (const chunk of [64 * 1024, 4096, 512, 64, 1]) {
          const buf = Buffer.alloc(chunk, 0x66);
          for (;;) {
            try {
              writeSync(fd, buf);
            } catch (err) {
              if ((err as NodeJS.ErrnoException).code === "ENOSPC") break;
              throw err;
            }
          }
        }
      } finally {
        closeSync(fd);
      }
    },
    free() {
      try {
        unlinkSync(filler);
      } catch {
        // not filled
      }
    },
    unmount() {
      execFileSync("umount", ["-l", dir], { stdio: "pipe" });
    },
  };
}
