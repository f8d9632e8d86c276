import { accessSync, constants, statSync } from "node:fs";
import { join } from "node:path";

/**
 * Finds `program` (a bare name) in the trusted directories only. Returns the path inside the
 * trusted directory, not its realpath, so multi-call binaries still see their own name as argv[0].
 */
export function whichSync(program: string, trustedPath: string[]): string | null {
  if (!program || program.includes("/") || program === "." || program === "..") return null;
  for (const dir of trustedPath) {
    if (!dir.startsWith("/")) continue;
    const candidate = join(dir, program);
    try {
      if (!statSync(candidate).isFile()) continue;
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return null;
}
