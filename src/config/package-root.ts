import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The directory of mcp-warden's own package.json, found by walking up from this file, so shipped
 * assets (policies/, wasm-tools/build/) are found from src/ under vitest and from dist/ alike.
 */
export function packageRoot(from: string = import.meta.url): string {
  let dir = dirname(fileURLToPath(from));
  for (;;) {
    const candidate = join(dir, "package.json");
    if (existsSync(candidate)) {
      try {
        if (JSON.parse(readFileSync(candidate, "utf8")).name === "mcp-warden") return dir;
      } catch {
        // not ours; keep walking
      }
    }
    const up = dirname(dir);
    if (up === dir) throw new Error("mcp-warden: cannot find the package root (package.json named mcp-warden)");
    dir = up;
  }
}

/** The package version, for --version, get_system_info and /health. */
export function packageVersion(): string {
  return JSON.parse(readFileSync(join(packageRoot(), "package.json"), "utf8")).version as string;
}
