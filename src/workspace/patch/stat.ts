import type { Change } from "../changes.js";
import { fileDiff } from "./file-diff.js";

export interface StatLine {
  path: string;
  status: "A" | "D" | "M";
  kind: string;
  insertions: number;
  deletions: number;
  /** For binary files: sizes before and after. */
  binary?: { from: number; to: number };
}

/** Per path: what happened and how many lines (or bytes, for binary files) it touched. Directories included. */
export function statLines(changes: Change[]): StatLine[] {
  return changes.map((c) => {
    const status = c.status === "added" ? "A" : c.status === "deleted" ? "D" : "M";
    const kind = (c.new ?? c.old)!.kind;
    if (kind === "dir" || kind === "other" || c.old?.kind === "dir" || c.old?.kind === "other") return { path: c.path, status, kind, insertions: 0, deletions: 0 };
    const d = fileDiff(c);
    if (d.binary) return { path: c.path, status, kind, insertions: 0, deletions: 0, binary: { from: d.oldContent?.length ?? 0, to: d.newContent?.length ?? 0 } };
    return { path: c.path, status, kind, insertions: d.insertions, deletions: d.deletions };
  });
}

/** git diff --stat's layout: " path | N +++--", "Bin A -> B bytes", and a summary line. */
export function formatStat(lines: StatLine[], prefix = ""): string {
  const files = lines.filter((l) => l.kind !== "dir");
  if (files.length === 0) return "";
  const width = Math.min(60, Math.max(...files.map((l) => (prefix + l.path).length)));
  const most = Math.max(1, ...files.map((l) => l.insertions + l.deletions));
  const scale = most > 40 ? 40 / most : 1;
  let ins = 0;
  let del = 0;
  let out = "";
  for (const l of files) {
    ins += l.insertions;
    del += l.deletions;
    const name = (prefix + l.path).padEnd(width);
    if (l.binary) out += ` ${name} | Bin ${l.binary.from} -> ${l.binary.to} bytes\n`;
    else {
      const n = l.insertions + l.deletions;
      const plus = Math.round(l.insertions * scale);
      const minus = Math.round(l.deletions * scale);
      out += ` ${name} | ${String(n).padStart(4)} ${"+".repeat(plus)}${"-".repeat(minus)}\n`;
    }
  }
  out += ` ${files.length} file${files.length === 1 ? "" : "s"} changed, ${ins} insertion${ins === 1 ? "" : "s"}(+), ${del} deletion${del === 1 ? "" : "s"}(-)\n`;
  return out;
}
