import type { Change } from "../changes.js";
import { literalHunk } from "./base85.js";
import { fileDiff } from "./file-diff.js";
import { blobId, gitMode, NULL_OID } from "./git-object.js";
import { quotePath } from "./quote.js";

/**
 * A git-style patch of one root's changes that `git apply` accepts on the real tree: full index
 * lines (git apply needs them for binary hunks), text hunks with 3 lines of context, binary files as
 * "GIT binary patch" literals (both directions), new and deleted files, mode changes (git knows only
 * 644 and 755), symlinks (mode 120000). A directory replaced by a file is the deletion of everything
 * in it followed by the new file; git apply removes before it creates. Empty directories, and kinds
 * git cannot record (FIFOs, sockets, devices), are left out and returned as `skipped`.
 */
export function gitPatch(changes: Change[]): { patch: Buffer; skipped: Array<{ path: string; reason: string }> } {
  const parts: Buffer[] = [];
  const skipped: Array<{ path: string; reason: string }> = [];
  for (const c of changes) {
    const oldKind = c.old?.kind;
    const newKind = c.new?.kind;
    if (oldKind === "dir" || newKind === "dir") continue;
    if (oldKind === "other" || newKind === "other") {
      skipped.push({ path: c.path, reason: "not a file or symlink" });
      continue;
    }
    const text = renderOne(c);
    if (text) parts.push(text);
  }
  return { patch: Buffer.concat(parts), skipped };
}

function renderOne(c: Change): Buffer | null {
  const d = fileDiff(c);
  const oldMode = c.old ? gitMode(c.old.kind as "file" | "symlink", c.old.mode) : null;
  const newMode = c.new ? gitMode(c.new.kind as "file" | "symlink", c.new.mode) : null;
  const sameContent = d.oldContent !== null && d.newContent !== null && d.oldContent.equals(d.newContent);
  if (c.status === "modified" && sameContent && oldMode === newMode) return null; // a change git cannot see
  const head: string[] = [`diff --git ${quotePath("a/", c.path)} ${quotePath("b/", c.path)}`];
  if (!c.old) head.push(`new file mode ${newMode}`);
  else if (!c.new) head.push(`deleted file mode ${oldMode}`);
  else if (oldMode !== newMode) head.push(`old mode ${oldMode}`, `new mode ${newMode}`);
  if (sameContent) return Buffer.from(`${head.join("\n")}\n`, "utf8");
  const oldId = d.oldContent ? blobId(d.oldContent) : NULL_OID;
  const newId = d.newContent ? blobId(d.newContent) : NULL_OID;
  head.push(`index ${oldId}..${newId}${c.old && c.new && oldMode === newMode ? ` ${newMode}` : ""}`);
  const oldLen = d.oldContent?.length ?? 0;
  const newLen = d.newContent?.length ?? 0;
  if (oldLen === 0 && newLen === 0) return Buffer.from(`${head.join("\n")}\n`, "utf8"); // an empty file added or removed
  if (d.binary) {
    head.push("GIT binary patch");
    const body = literalHunk(d.newContent ?? Buffer.alloc(0)) + literalHunk(d.oldContent ?? Buffer.alloc(0));
    return Buffer.concat([Buffer.from(`${head.join("\n")}\n`, "utf8"), Buffer.from(body, "latin1")]);
  }
  head.push(c.old ? `--- ${quotePath("a/", c.path)}` : "--- /dev/null", c.new ? `+++ ${quotePath("b/", c.path)}` : "+++ /dev/null");
  let body = "";
  for (const h of d.hunks) {
    const os = h.oldLines === 0 ? h.oldStart - 1 : h.oldStart;
    const ns = h.newLines === 0 ? h.newStart - 1 : h.newStart;
    body += `@@ -${os},${h.oldLines} +${ns},${h.newLines} @@\n`;
    for (const l of h.lines) body += `${l}\n`;
  }
  return Buffer.concat([Buffer.from(`${head.join("\n")}\n`, "utf8"), Buffer.from(body, "latin1")]);
}
