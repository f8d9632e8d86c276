import { spawnSync } from "node:child_process";
import type { LayerEncoding } from "./drivers.js";
import { WorkspaceError } from "./errors.js";

/**
 * overlayfs marks (userxattr mode; fuse-overlayfs's opaque marks for its encoding) found in a layer: directories marked opaque
 * (`user.overlay.opaque="y"`: a directory removed and made again, hiding everything below it) and
 * files marked as whiteouts by xattr (`user.overlay.whiteout`, only meaningful in a directory whose
 * opaque value is "x"; overlayfs itself writes character-device whiteouts, which need no xattr).
 *
 * Node has no xattr API. getfattr (the `attr` package) dumps the matching attributes of a whole
 * layer in one process; python3's os.getxattr is the fallback when getfattr is missing.
 */
export interface LayerMarks {
  /** Paths relative to the layer root ("" is the root), '/'-separated. */
  opaque: Set<string>;
  /** Directories whose opaque value is "x" (they may hold xattr whiteouts). */
  xOpaque: Set<string>;
  xWhiteouts: Set<string>;
  /** Entries carrying `user.overlay.origin`: copied up from a lower layer (their birth is the copy-up). */
  origin: Set<string>;
}

const PATTERN: Record<LayerEncoding, string> = {
  kernel: "^user\\.overlay\\.(opaque|whiteout|origin)$",
  // fuse-overlayfs 1.10 marks an opaque directory with trusted.overlay.opaque as root outside a user
  // namespace, user.fuseoverlayfs.opaque inside one (and a `.wh..wh..opq` file either way: compose.ts);
  // later versions may write user.overlay.opaque.
  fuse: "^(trusted\\.overlay\\.opaque|user\\.fuseoverlayfs\\.opaque|user\\.overlay\\.opaque)$",
};

export function readLayerMarks(layerDir: string, encoding: LayerEncoding = "kernel"): LayerMarks {
  const r = spawnSync("getfattr", ["-R", "-P", "--absolute-names", "-m", PATTERN[encoding], "-d", "-e", "text", layerDir], { maxBuffer: 1 << 30 });
  if (r.error && (r.error as NodeJS.ErrnoException).code === "ENOENT") return viaPython(layerDir, encoding);
  if (r.error) throw new WorkspaceError(`cannot read overlayfs marks in ${layerDir}: ${r.error.message}`);
  // getfattr exits 1 when some file had no attributes matching; only its stdout matters.
  return parseGetfattr(r.stdout, layerDir, encoding);
}

/** Parses `getfattr -d` output: "# file: PATH" (octal escapes for \n, \\ and the like), then NAME="VALUE" lines. */
export function parseGetfattr(out: Buffer, layerDir: string, encoding: LayerEncoding = "kernel"): LayerMarks {
  const marks: LayerMarks = { opaque: new Set(), xOpaque: new Set(), xWhiteouts: new Set(), origin: new Set() };
  const prefix = Buffer.from(layerDir);
  let current: string | null = null;
  for (const line of splitLines(out)) {
    if (line.subarray(0, 8).toString("latin1") === "# file: ") {
      const abs = unescapeOctal(line.subarray(8));
      if (!abs.subarray(0, prefix.length).equals(prefix)) {
        current = null;
        continue;
      }
      const rest = abs.subarray(prefix.length);
      current = rest.length === 0 ? "" : rest[0] === 0x2f ? rest.subarray(1).toString("utf8") : null;
      continue;
    }
    if (current === null) continue;
    const text = line.toString("latin1");
    if (encoding === "fuse") {
      if (/^(trusted\.overlay|user\.fuseoverlayfs|user\.overlay)\.opaque="y"$/.test(text)) marks.opaque.add(current);
      continue;
    }
    if (text === 'user.overlay.opaque="y"') marks.opaque.add(current);
    else if (text === 'user.overlay.opaque="x"') marks.xOpaque.add(current);
    else if (text.startsWith("user.overlay.whiteout")) marks.xWhiteouts.add(current);
    else if (text.startsWith("user.overlay.origin")) marks.origin.add(current);
  }
  return marks;
}

function splitLines(buf: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let start = 0;
  for (let i = 0; i < buf.length; i++) {
    if (buf[i] === 0x0a) {
      out.push(buf.subarray(start, i));
      start = i + 1;
    }
  }
  if (start < buf.length) out.push(buf.subarray(start));
  return out;
}

function unescapeOctal(b: Buffer): Buffer {
  const out: number[] = [];
  for (let i = 0; i < b.length; i++) {
    if (b[i] === 0x5c && i + 3 < b.length + 0 && /^[0-7]{3}$/.test(b.subarray(i + 1, i + 4).toString("latin1"))) {
      out.push(parseInt(b.subarray(i + 1, i + 4).toString("latin1"), 8));
      i += 3;
    } else out.push(b[i]!);
  }
  return Buffer.from(out);
}

const PY = `
import os, sys, json
root = sys.argv[1]
opaque_attrs = sys.argv[2].split(",")
res = {"opaque": [], "x": [], "wh": [], "origin": []}
for d, dirs, files in os.walk(root):
    for name in [None] + dirs + files:
        p = d if name is None else os.path.join(d, name)
        if name is not None and name in dirs:
            continue  # visited as d
        rel = os.path.relpath(p, root)
        rel = "" if rel == "." else rel
        for a in opaque_attrs:
            try:
                v = os.getxattr(p, a, follow_symlinks=False)
                (res["opaque"] if v == b"y" else res["x"] if v == b"x" and a == "user.overlay.opaque" else []).append(rel)
            except OSError:
                pass
        if opaque_attrs != ["user.overlay.opaque"]:
            continue
        for attr, key in (("user.overlay.whiteout", "wh"), ("user.overlay.origin", "origin")):
            try:
                os.getxattr(p, attr, follow_symlinks=False)
                res[key].append(rel)
            except OSError:
                pass
json.dump(res, sys.stdout)
`;

function viaPython(layerDir: string, encoding: LayerEncoding): LayerMarks {
  const opaqueAttrs = encoding === "fuse" ? "trusted.overlay.opaque,user.fuseoverlayfs.opaque,user.overlay.opaque" : "user.overlay.opaque";
  const r = spawnSync("python3", ["-c", PY, layerDir, opaqueAttrs], { encoding: "utf8", maxBuffer: 1 << 30 });
  if (r.error || r.status !== 0) {
    throw new WorkspaceError(`cannot read overlayfs's extended attributes: neither getfattr (package attr) nor python3 works here${r.stderr ? ` (${r.stderr.trim()})` : ""}; install attr`);
  }
  const j = JSON.parse(r.stdout) as { opaque: string[]; x: string[]; wh: string[]; origin: string[] };
  return { opaque: new Set(j.opaque), xOpaque: new Set(j.x), xWhiteouts: new Set(j.wh), origin: new Set(j.origin) };
}
