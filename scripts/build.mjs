// Builds dist/ from src/: removes the old dist/ (no stale files from renamed sources), compiles
// with TypeScript (tsconfig.build.json: no source maps, since the package ships dist/ and not src/,
// and Node only reads maps with --enable-source-maps anyway), and marks the CLI executable (npm
// links bin targets, but a direct `./dist/cli/main.js` needs +x). Also compiles the native helpers
// (native/*.c, into native/build/) with the first C compiler found; without one, a warning says
// what is lost (each helper's TypeScript side has a fallback and says which is in use).
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

buildNative();

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

/**
 * native/NAME.c -> native/build/NAME: static when the C library allows it (no loader to run per
 * command), else dynamic. A helper that cannot be built is left out with a warning.
 */
function buildNative() {
  const dir = join(root, "native");
  if (!existsSync(dir)) return;
  const sources = readdirSync(dir).filter((f) => f.endsWith(".c"));
  const cc = ["cc", "gcc", "clang"].find((c) => spawnSync(c, ["--version"], { stdio: "ignore" }).status === 0);
  if (!cc) {
    say(`WARNING: no C compiler (cc, gcc or clang): ${sources.join(", ")} not built. Commands then get their pins and filesystem.deny masks from bubblewrap's binds by path (docs/CONFINEMENT.md says what that risks) and the server forks every command launcher itself (slower under load); apt-get install gcc libc6-dev and build again`);
    return;
  }
  mkdirSync(join(dir, "build"), { recursive: true });
  for (const source of sources) {
    const out = join(dir, "build", source.slice(0, -2));
    rmSync(out, { force: true }); // never a stale helper beside new code
    const flags = ["-O2", "-Wall", "-Wextra", "-Werror", "-o", out, join(dir, source)];
    let r = spawnSync(cc, ["-static", ...flags], { stdio: ["ignore", "ignore", "pipe"] });
    if (r.status !== 0) r = spawnSync(cc, flags, { stdio: ["ignore", "ignore", "pipe"] });
    if (r.status !== 0) say(`WARNING: ${source} did not compile with ${cc}: ${r.stderr.toString().trim().split("\n").slice(0, 5).join(" | ")}`);
  }
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
