import { mkdirSync, mkdtempSync, realpathSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** A fresh directory under the repository's .bench-cache (git-ignored), not /tmp: other suites sweep /tmp/warden-*. */
export function benchDir(prefix) {
  const cache = fileURLToPath(new URL("../../.bench-cache/", import.meta.url));
  mkdirSync(cache, { recursive: true });
  return realpathSync(mkdtempSync(join(cache, prefix)));
}

/** 500 small C files in 20 directories (bench/overlay-exec.mjs, bench/overlay-search-floor.mjs). */
export function makeSmallTree(root) {
  mkdirSync(root);
  for (let d = 0; d < 20; d++) {
    mkdirSync(join(root, `src${d}`));
    for (let f = 0; f < 25; f++) writeFileSync(join(root, `src${d}`, `f${f}.c`), `int f${f}(void) { return ${f}; }\n`);
  }
}
