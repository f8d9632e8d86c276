import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { buildDeps, type WardenDeps } from "../../src/server/deps.js";
import { makeTempDir, removeDir } from "../support/tree.js";

/** A secret-looking value that must never reach a question, an answer or the audit log. */
export const SECRET_TOKEN = "ghp_" + "Zq7".repeat(12);

/** Commands: `touch` asks (ask-touch), echo/cat run; writes under secrets/ ask. */
export function askPolicy(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    filesystem: { ask: ["secrets/**"] },
    commands: { allow: [{ program: "echo" }, { program: "cat" }, { program: "sleep" }], ask: [{ program: "touch", name: "ask-touch" }] },
    execution: { timeout_s: 30 },
    ...extra,
  };
}

export interface AskFixture {
  deps: WardenDeps;
  root: string;
  /** Outside every root: the canary directory and the audit log. */
  etc: string;
  auditLog: string;
  records(): Array<Record<string, unknown>>;
  close(): Promise<void>;
}

/** Real deps (policy file, native backend, audit log) over one read-write root. */
export async function askFixture(policy: Record<string, unknown> = askPolicy()): Promise<AskFixture> {
  const root = makeTempDir("warden-ask-root-");
  const etc = makeTempDir("warden-ask-etc-");
  const policyPath = join(etc, "policy.json");
  writeFileSync(policyPath, JSON.stringify(policy));
  const auditLog = join(etc, "audit.jsonl");
  const deps = await buildDeps({ roots: [root], readOnly: [], allow: [], policyPath, auditLog, privileged: false, cwd: root, env: { ...process.env, WARDEN_TOKEN: "" }, log: () => {} });
  return {
    deps,
    root,
    etc,
    auditLog,
    records: () =>
      readFileSync(auditLog, "utf8")
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>),
    async close() {
      await deps.close();
      removeDir(root);
      removeDir(etc);
    },
  };
}
