import { compileDenyRules, type DenyRules } from "../../policy/path-rules.js";

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
      rules = compileDenyRules(globs);
      this.compiled.set(key, rules);
    }
    return rules;
  }
}
