// Builds dist/ from src/: removes the old dist/ (no stale files from renamed sources), compiles
// with TypeScript (tsconfig.build.json: no source maps, since the package ships dist/ and not src/,
// and Node only reads maps with --enable-source-maps anyway), and marks the CLI executable (npm
// links bin targets, but a direct `./dist/cli/main.js` needs +x).
//
//   node scripts/build.mjs                 `npm run build`: TypeScript must be installed
//   node scripts/build.mjs --if-possible   `prepare` (npm ci, npm pack, a git install): without
//       TypeScript (a clone without `npm ci`, an install that skipped dev dependencies) an existing
//       dist/ is kept, with a warning when src/ is newer; with no dist/ it fails saying what to run.
import { spawnSync } from "node:child_process";
import { chmodSync, cpSync, existsSync, mkdirSync, readdirSync, rmSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const dist = join(root, "dist");
const cli = join(dist, "cli", "main.js");
const say = (message) => process.stderr.write(`build: ${message}\n`);

let tsc = null;
try {
  tsc = createRequire(join(root, "package.json")).resolve("typescript/bin/tsc");
} catch {
  // not installed
}

if (!tsc) {
  const needed = "TypeScript is not installed (it is a dev dependency): run `npm ci` (installs and builds), or `npm install --no-save typescript && npm run build`";
  if (!process.argv.includes("--if-possible")) {
    say(`cannot build: ${needed}`);
    process.exit(1);
  }
  if (!existsSync(cli)) {
    say(`dist/ is missing and cannot be built: ${needed}`);
    process.exit(1);
  }
  if (existsSync(join(root, "src")) && newest(join(root, "src")) > statSync(cli).mtimeMs) say(`WARNING: src/ is newer than dist/, which is kept as it is; ${needed}`);
  else say("TypeScript is not installed: keeping the existing dist/");
  process.exit(0);
}

rmSync(dist, { recursive: true, force: true });
const r = spawnSync(process.execPath, [tsc, "-p", join(root, "tsconfig.build.json")], { stdio: "inherit" });
if (r.status !== 0) process.exit(r.status ?? 1);
chmodSync(cli, 0o755);
// The dashboard's static files (not TypeScript) go beside the module that serves them.
cpSync(join(root, "src/server/http/dashboard/static"), join(dist, "server/http/dashboard/static"), { recursive: true });
// The launcher spawner (native/spawner.c, src/exec/native/spawner.ts): with a C compiler. Without
// one, commands are forked by the server itself (slower on a busy server, same confinement).
{
  const cc = ["cc", "gcc", "clang"].find((c) => spawnSync(c, ["--version"], { stdio: "ignore" }).status === 0);
  const out = join(dist, "native", "warden-spawner");
  mkdirSync(dirname(out), { recursive: true });
  const built = cc ? spawnSync(cc, ["-O2", "-Wall", "-o", out, join(root, "native", "spawner.c")], { stdio: "inherit" }).status === 0 : false;
  if (!built) say(`no launcher spawner (${cc ? `${cc} failed on native/spawner.c` : "no C compiler: cc, gcc or clang"}): commands are forked by the server itself`);
}

/** The newest modification time of any file below `dir`. */
function newest(dir) {
  let t = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    t = Math.max(t, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }
  return t;
}
