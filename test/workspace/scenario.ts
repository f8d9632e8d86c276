import { execFileSync } from "node:child_process";
import { chmodSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createHash } from "node:crypto";
import { readFileBeneath, readlinkBeneath } from "../../src/workspace/beneath.js";
import type { Change } from "../../src/workspace/index.js";
import type { TreeEntry } from "./helpers.js";

/** Bytes that are not text to git (a NUL in the first 8000) and not valid UTF-8. */
export const BINARY = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 1, 2, 0xff, 0xfe, 10, 0, 0x80, ...Array.from({ length: 3000 }, (_, i) => (i * 7) % 256)]);

/** A small real repository tree with every kind of thing the scenario then changes. */
export function makeTree(dir: string): void {
  const w = (rel: string, data: string | Buffer) => {
    mkdirSync(join(dir, rel, ".."), { recursive: true });
    writeFileSync(join(dir, rel), data);
  };
  w("README.md", "# demo\n\nline 3\nline 4\nline 5\nline 6\nline 7\nline 8\n");
  w("src/main.c", "int main(void) {\n  return 0;\n}\n");
  w("src/util.c", "static int x;\n");
  w("src/old/legacy.c", "legacy\n");
  w("src/old/deeper/more.c", "more\n");
  w("img/logo.png", BINARY);
  w("img/icon.bin", Buffer.concat([BINARY, BINARY]));
  w("tools/run.sh", "#!/bin/sh\necho run\n");
  w("tools/lint.sh", "#!/bin/sh\necho lint\n");
  chmodSync(join(dir, "tools/lint.sh"), 0o755);
  w("docs/guide/intro.md", "intro\n");
  w("docs/guide/part2.md", "part2\n");
  w("docs/notes.txt", "a note\n");
  w("data/x.txt", "x\n");
  w("crlf.txt", "one\r\ntwo\r\nthree\r\n");
  w("noeol.txt", "no newline at end");
  w("with space.txt", "space\n");
  w("ünïcode.txt", "unicode\n");
  w("rm-dir/a/b/c.txt", "c\n");
  w("opaque/keep.txt", "was here\n");
  w("opaque/gone.txt", "gone\n");
  w("touched.txt", "same\n");
  w("empty.txt", "");
  symlinkSync("README.md", join(dir, "link-to-readme"));
  symlinkSync("src/main.c", join(dir, "link-retarget"));
  symlinkSync("/etc/hostname", join(dir, "abs-link"));
}

/** Changes made inside the namespace, through the merged view, by ordinary programs. */
export function scenarioScript(root: string): string {
  return `cd '${root}'
printf 'changed\\n' >> README.md
sed -i 's/return 0/return 1/' src/main.c
rm src/util.c
rm -rf src/old
printf 'new file\\n' > src/new.c
mkdir -p src/fresh/deep && printf 'deep\\n' > src/fresh/deep/f.txt
printf '\\000\\001\\002binary-new' > img/new.bin
printf 'appended' >> img/logo.png
rm img/icon.bin
chmod +x tools/run.sh
chmod -x tools/lint.sh
rm -rf docs/guide && printf 'guide is a file now\\n' > docs/guide
rm data/x.txt && rmdir data && mkdir -p data/x.txt && printf 'inside\\n' > data/x.txt/inner
printf 'one\\r\\nTWO\\r\\nthree\\r\\n' > crlf.txt
printf 'still no newline' > noeol.txt
printf 'space changed\\n' > 'with space.txt'
mv 'ünïcode.txt' 'ünïcode-renamed.txt'
rm -rf rm-dir
rm -rf opaque && mkdir opaque && printf 'new keep\\n' > opaque/keep.txt
touch touched.txt
ln -s src/new.c new-link
rm link-retarget && ln -s src/new.c link-retarget
rm link-to-readme && printf 'was a link\\n' > link-to-readme
mkdir empty-dir
printf 'now has content\\n' > empty.txt
mkdir tmpdir && printf 't\\n' > tmpdir/t && mv tmpdir moved-dir
`;
}

/** The lower tree with the change list applied, at full fidelity: what the merged view must be. */
export function applyToSnapshot(lower: Map<string, TreeEntry>, changes: Change[]): Map<string, TreeEntry> {
  const out = new Map(lower);
  for (const c of changes) {
    if (c.status === "deleted") {
      for (const k of [...out.keys()]) if (k === c.path || k.startsWith(`${c.path}/`)) out.delete(k);
      continue;
    }
    const n = c.new!;
    if (n.kind === "dir") out.set(c.path, { kind: "dir", mode: n.mode });
    else if (n.kind === "symlink") out.set(c.path, { kind: "symlink", mode: 0, content: readlinkBeneath(n.base, c.path).toString() });
    else if (n.kind === "file") out.set(c.path, { kind: "file", mode: n.mode, content: createHash("sha1").update(readFileBeneath(n.base, c.path)).digest("hex") });
    else out.set(c.path, { kind: "other", mode: n.mode });
  }
  return out;
}

export function initRepo(dir: string): void {
  const env = { ...process.env, GIT_AUTHOR_NAME: "t", GIT_AUTHOR_EMAIL: "t@t", GIT_COMMITTER_NAME: "t", GIT_COMMITTER_EMAIL: "t@t", GIT_CONFIG_NOSYSTEM: "1", HOME: dir };
  execFileSync("git", ["init", "-q", "-b", "main"], { cwd: dir, env });
  execFileSync("git", ["add", "-A"], { cwd: dir, env });
  execFileSync("git", ["commit", "-q", "-m", "base"], { cwd: dir, env });
}
