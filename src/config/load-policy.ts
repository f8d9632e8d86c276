import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { z } from "zod";
import { policySchema, type Policy } from "../policy/schema/index.js";
import { packageRoot } from "./package-root.js";

/** A policy that cannot be used; the message names the file and every offending field. */
export class PolicyError extends Error {
  override name = "PolicyError";
}

/** The shipped default policy. */
export function defaultPolicyPath(): string {
  return join(packageRoot(), "policies", "default.json");
}

/**
 * Reads, expands and validates a policy file. `${VAR}` and `${VAR:-fallback}` expand from `env` in
 * every string value; an unset variable without a fallback is an error (a silently empty root would
 * be a surprise).
 */
export function loadPolicyFile(path: string, env: NodeJS.ProcessEnv = process.env): Policy {
  const file = resolve(path);
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new PolicyError(`policy ${file}: cannot read: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new PolicyError(`policy ${file}: not valid JSON: ${(err as Error).message}`);
  }
  return parsePolicy(raw, file, env);
}

/** Validates an already-parsed policy object (also used for inline policies in tests). */
export function parsePolicy(raw: unknown, source = "<inline>", env: NodeJS.ProcessEnv = process.env): Policy {
  const expanded = expandEnv(raw, env, source, []);
  const parsed = policySchema.safeParse(expanded);
  if (!parsed.success) throw new PolicyError(`policy ${source}:\n${formatIssues(parsed.error.issues)}`);
  return parsed.data;
}

function formatIssues(issues: z.core.$ZodIssue[]): string {
  return issues
    .map((issue) => {
      const field = issue.path.length ? issue.path.map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`)).join("").replace(/^\./, "") : "(root)";
      return `  ${field}: ${issue.message}`;
    })
    .join("\n");
}

function expandEnv(value: unknown, env: NodeJS.ProcessEnv, source: string, path: (string | number)[]): unknown {
  if (typeof value === "string") {
    return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g, (_m, name: string, fallback?: string) => {
      const v = env[name];
      if (v !== undefined && v !== "") return v;
      if (fallback !== undefined) return fallback;
      const field = path.map((p) => (typeof p === "number" ? `[${p}]` : `.${p}`)).join("").replace(/^\./, "");
      throw new PolicyError(`policy ${source}:\n  ${field}: environment variable ${name} is not set (write \${${name}:-default} for a fallback)`);
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => expandEnv(v, env, source, [...path, i]));
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, expandEnv(v, env, source, [...path, k])]));
  }
  return value;
}
