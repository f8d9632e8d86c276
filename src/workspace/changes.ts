/** What one path looks like on one side of a diff. */
export interface EntryInfo {
  kind: "file" | "dir" | "symlink" | "other";
  /** Permission bits (st_mode & 07777). */
  mode: number;
  size: number;
  /** The directory the entry is read beneath: a layer's directory, or the real root. */
  base: string;
}

/**
 * One change between the real tree (old) and the workspace's merged view (new), relative to the root.
 * A directory replaced by a file is a `deleted` dir (with a `deleted` change for each entry below it,
 * deepest first) followed by an `added` file at the same path; renames are a delete and an add.
 */
export interface Change {
  root: string;
  path: string;
  status: "added" | "deleted" | "modified";
  old?: EntryInfo;
  new?: EntryInfo;
  /**
   * The earliest moment (ns since the epoch) the workspace can have started hiding the real entry at
   * this path: apply refuses when the real entry changed at or after it (see apply.ts).
   */
  shadowNs: bigint;
}

/** Changes of every root of a workspace. */
export interface WorkspaceDiff {
  name: string;
  roots: Array<{ root: string; changes: Change[] }>;
}
