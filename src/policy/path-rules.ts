import picomatch from "picomatch";

/**
 * Deny globs for paths inside a root (policy `filesystem.deny`, e.g. `**\/.env`). Pure: no
 * filesystem access. The sandbox's resolver asks this once per path component it walks, so a
 * denied directory hides everything below it and a symlink cannot reach a denied file under
 * another name (the resolver checks the physical components it actually walks).
 */
export interface DenyRules {
  /** The glob that hides `relPath` itself (not its prefixes), or null. */
  matchOne(relPath: string): string | null;
  /** The glob that hides `relPath` or any of its parent directories, or null. */
  match(relPath: string): string | null;
}

/** Compiles deny globs once; matching is on `/`-separated paths relative to a root, dotfiles included. */
export function compileDenyRules(globs: readonly string[]): DenyRules {
  const matchers = globs
    .filter((g) => g.length > 0)
    .map((glob) => ({ glob, test: picomatch(glob, { dot: true }) }));
  const matchOne = (relPath: string): string | null => {
    if (relPath === "" || relPath === ".") return null;
    for (const m of matchers) if (m.test(relPath)) return m.glob;
    return null;
  };
  return withPrefixes(matchOne);
}

/**
 * Deny rules from a single-path matcher: `match` checks every prefix of the path, so a denied
 * directory hides everything below it.
 */
export function withPrefixes(matchOne: (relPath: string) => string | null): DenyRules {
  return {
    matchOne,
    match(relPath) {
      const parts = relPath.split("/").filter((p) => p !== "" && p !== ".");
      for (let i = 1; i <= parts.length; i++) {
        const hit = matchOne(parts.slice(0, i).join("/"));
        if (hit !== null) return hit;
      }
      return null;
    },
  };
}

/** The rule name a deny glob is reported under (`filesystem.deny:<glob>`). */
export function denyRuleName(glob: string): string {
  return `filesystem.deny:${glob}`;
}

/**
 * `child` relative to `root` when it lies at or below it (whole components), else null.
 * Both must be absolute, normalized host paths.
 */
export function relativeUnder(root: string, child: string): string | null {
  if (root === "/") return child.startsWith("/") ? child.slice(1) : null;
  if (child === root) return "";
  return child.startsWith(root + "/") ? child.slice(root.length + 1) : null;
}

/**
 * The `filesystem.ask` glob a write to `relPath` (relative to its root, as written) matches, or
 * null. The path is normalized lexically; the resolver keeps the same globs hidden from every
 * write that was not asked about, so another spelling (a symlink) cannot skip the question.
 */
export function askGlobFor(globs: readonly string[], relPath: string): string | null {
  if (globs.length === 0) return null;
  return compileDenyRules(globs).match(relPath);
}

/** The rule name an ask glob is reported under (`filesystem.ask:<glob>`). */
export function askRuleName(glob: string): string {
  return `filesystem.ask:${glob}`;
}
