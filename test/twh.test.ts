import { mkdirSync, writeFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { test } from "vitest";
import { mergedRootOpener } from "/work/wt-twin/src/config/merged-roots.js";
import { mergedRootsOf } from "/work/wt-twin/src/server/overlay-mode.js";
import { openWorkspace } from "/work/wt-twin/src/workspace/index.js";
import { HostDirectory } from "/work/wt-twin/src/sandbox/host/host-directory.js";
import { HostFile } from "/work/wt-twin/src/sandbox/host/host-file.js";
import { Harness } from "/work/wt-twin/test/sandbox/host/harness.js";

function list(dir: HostDirectory): string[] {
  const names: string[] = [];
  for (let cookie = 0n; ; ) { const r = dir.fd_readdir_single(cookie); if (!r.dirent) break; names.push(new TextDecoder().decode(r.dirent.dir_name)); cookie = r.dirent.d_next; }
  return names;
}
function walk(h: Harness, root: string) {
  const top = h.open(root === "" ? "." : ".", { dir: true }).fd_obj as HostDirectory;
  for (const d of list(top)) {
    if (d === "." || d === "..") continue;
    const sub = h.open(d, { dir: true }, top).fd_obj as HostDirectory;
    for (const f of list(sub)) {
      if (f === "." || f === "..") continue;
      const r = h.open(f, {}, sub).fd_obj as HostFile;
      r.fd_filestat_get();
      r.fd_read(65536);
      r.fd_close();
    }
    sub.fd_close();
  }
  top.fd_close();
}
test("twin cost", async () => {
  const base = "/work/wt-twin/.bench-cache/twh"; rmSync(base, { recursive: true, force: true });
  const tree = (root: string) => { for (let d = 0; d < 20; d++) { mkdirSync(join(root, `src${d}`), { recursive: true }); for (let f = 0; f < 25; f++) writeFileSync(join(root, `src${d}`, `f${f}.c`), `int f${f}(void) { return ${f}; }\n`); } };
  const view = join(base, "view"); tree(view);
  const ws = await openWorkspace({ stateDir: join(base, "state"), name: "b", roots: [view], driver: "kernel" });
  const held = mergedRootOpener(mergedRootsOf(ws, [view]))(view);
  const v: Record<string, () => void> = {
    real: () => { const h = new Harness({ preopens: [{ hostPath: view, writable: false }], denyGlobs: [] }); walk(h, view); h.close(); },
    twin: () => { const h = new Harness({ preopens: [{ hostPath: view, writable: false, held }], denyGlobs: [] }); walk(h, view); h.close(); },
    merged: () => { const h = new Harness({ preopens: [{ hostPath: view, writable: false, held: { ...held, lower: undefined } }], denyGlobs: [] }); walk(h, view); h.close(); },
  };
  const t: Record<string, number[]> = { real: [], twin: [], merged: [] };
  for (let i = 0; i < 300; i++) for (const [k, f] of Object.entries(v)) { const s = performance.now(); f(); if (i > 30) t[k]!.push(performance.now() - s); }
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
  console.log(Object.entries(t).map(([k, xs]) => `${k} ${med(xs).toFixed(3)} paired/real ${med(xs.map((x, i) => x / t.real![i]!)).toFixed(3)}`).join(" | "));
  await ws.close();
}, 120000);
