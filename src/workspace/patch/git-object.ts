import { createHash } from "node:crypto";

export const NULL_OID = "0".repeat(40);

/** The id git gives a blob (SHA-1 of "blob <size>\0" + content): what an index line must carry. */
export function blobId(content: Buffer): string {
  return createHash("sha1").update(`blob ${content.length}\0`).update(content).digest("hex");
}

/** git records three kinds of non-directory: a symlink, an executable file, any other file. */
export function gitMode(kind: "file" | "symlink", mode: number): string {
  if (kind === "symlink") return "120000";
  return mode & 0o100 ? "100755" : "100644";
}
