import { compileDenyRules, withPrefixes, type DenyRules } from "../../policy/path-rules.js";

/** Distinct glob lists kept per worker (a server has one policy; tests make a few). */
const MAX_ENTRIES = 32;

/**
 * Compiled deny globs by glob list, held by one worker. Compiling them (picomatch) cost more
 * than the rest of a small run's setup; the compiled matchers are pure functions of the globs, so
 * sharing them between runs shares no data.
 */
export class DenyRulesCache {
  private readonly compiled = new Map<string, DenyRules>();

  get(globs: readonly string[]): DenyRules {
    const key = globs.join("\0");
    let rules = this.compiled.get(key);
    if (!rules) {
      if (this.compiled.size >= MAX_ENTRIES) this.compiled.clear();
      rules = withLiteralPrefilter(globs);
      this.compiled.set(key, rules);
    }
    return rules;
  }
}

/** Globs made only of these characters: words, `.`, `-`, `/` and the wildcards `*` and `?`. */
const SIMPLE_GLOB = /^[A-Za-z0-9._\-/*?]+$/;

/** A component of only dots: picomatch drops a leading `./`, so its `.` stands for nothing in the path. */
const DOTS_COMPONENT = /(^|\/)\.+(\/|$)/;

/**
 * The policy's own matcher (`compileDenyRules`, picomatch), glob by glob, in the same order, but a
 * glob is only asked when the path contains every literal run of it: in a glob of words, `.`,
 * `-`, `/`, `*` and `?`, the runs of `[A-Za-z0-9._-]` stand for themselves, so a path lacking one
 * cannot match. The answer is always picomatch's; the prefilter only skips globs that cannot
 * match (most paths contain none of `.env`, `.pem`, `id_rsa`...). The resolver asks for every
 * component it walks and every directory entry it lists, so this is on the hot path of a search.
 * Other globs (classes, braces, extglobs, escapes, `.`/`..` components) are always asked.
 */
export function withLiteralPrefilter(globs: readonly string[]): DenyRules {
  const checks = globs.map((glob) => ({
    glob,
    literals: SIMPLE_GLOB.test(glob) && !DOTS_COMPONENT.test(glob) ? (glob.match(/[A-Za-z0-9._-]+/g) ?? []) : [],
    rule: compileDenyRules([glob]),
  }));
  const matchOne = (relPath: string): string | null => {
    for (const c of checks) {
      if (c.literals.some((lit) => !relPath.includes(lit))) continue;
      if (c.rule.matchOne(relPath) !== null) return c.glob;
    }
    return null;
  };
  return withPrefixes(matchOne);
}
