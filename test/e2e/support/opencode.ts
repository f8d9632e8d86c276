import { spawn } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

/** Pinned OpenCode version; .ci/run installs it into .cache/e2e-tools. */
export const OPENCODE_VERSION = "1.18.33";
const TOOLS = join(import.meta.dirname, "..", "..", "..", ".cache", "e2e-tools");
const require = createRequire(join(TOOLS, "package.json"));

/**
 * The OpenCode binary installed from npm (`opencode-ai`, pinned). It is not a devDependency:
 * the registry here serves only some of its per-platform optional packages, which makes `npm ci`
 * refuse the lock file, so .ci/run installs it on its own into .cache/e2e-tools. The platform
 * package holds the real binary; `opencode-ai/bin/opencode.exe` is a copy its postinstall makes,
 * used when the platform package is laid out differently.
 */
export function opencodeBinary(): string {
  const arch = process.arch === "x64" ? "x64" : process.arch;
  const platform = process.platform === "win32" ? "windows" : process.platform;
  const exe = platform === "windows" ? "opencode.exe" : "opencode";
  for (const pkg of [`opencode-${platform}-${arch}`, `opencode-${platform}-${arch}-baseline`, `opencode-${platform}-${arch}-musl`]) {
    try {
      const bin = join(dirname(require.resolve(`${pkg}/package.json`)), "bin", exe);
      if (existsSync(bin)) return bin;
    } catch {
      // not installed for this platform
    }
  }
  try {
    const fallback = join(dirname(require.resolve("opencode-ai/package.json")), "bin", "opencode.exe");
    if (existsSync(fallback)) return fallback;
  } catch {
    // not installed
  }
  throw new Error(`opencode binary not found: run \`npm install --prefix .cache/e2e-tools --no-save opencode-ai@${OPENCODE_VERSION}\` (.ci/run does)`);
}

/** Port 9 (discard) on loopback: nothing listens, connections fail at once. */
const DEAD = "http://127.0.0.1:9";

export interface OpencodeRun {
  code: number | null;
  stdout: string;
  stderr: string;
  durationMs: number;
}

/**
 * `opencode run PROMPT` headless, fully isolated: its own HOME and XDG dirs under `home`, no
 * model list fetch, no autoupdate, no sharing, no LSP downloads, no default plugins, no project or
 * Claude Code config; the only model is the fake one on 127.0.0.1, the only MCP server the one
 * given. Anything that would still reach out (it fetched plugin packages from the npm registry
 * without these) goes to a dead proxy and an offline registry: only loopback is reachable.
 */
export async function runOpencode(opts: {
  cwd: string;
  home: string;
  baseURL: string;
  mcp: Record<string, unknown>;
  prompt: string;
  timeoutMs: number;
  /** Extra environment (e.g. WARDEN_TOKEN for a config's `{env:WARDEN_TOKEN}`). */
  env?: Record<string, string>;
  /** OpenCode permissions (default: everything allowed). */
  permission?: Record<string, string>;
}): Promise<OpencodeRun> {
  const config = {
    $schema: "https://opencode.ai/config.json",
    provider: {
      fake: {
        npm: "@ai-sdk/openai-compatible",
        name: "Fake",
        options: { baseURL: opts.baseURL, apiKey: "fake-key" },
        models: { m: { name: "m", tool_call: true } },
      },
    },
    model: "fake/m",
    small_model: "fake/m",
    mcp: opts.mcp,
    permission: opts.permission ?? { "*": "allow" },
    autoupdate: false,
    share: "disabled",
  };
  mkdirSync(opts.home, { recursive: true });
  const configFile = join(opts.home, "opencode.json");
  writeFileSync(configFile, JSON.stringify(config, null, 2));
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: opts.home,
    XDG_CONFIG_HOME: join(opts.home, ".config"),
    XDG_DATA_HOME: join(opts.home, ".local", "share"),
    XDG_CACHE_HOME: join(opts.home, ".cache"),
    XDG_STATE_HOME: join(opts.home, ".local", "state"),
    OPENCODE_CONFIG: configFile,
    OPENCODE_DISABLE_MODELS_FETCH: "1",
    OPENCODE_DISABLE_AUTOUPDATE: "1",
    OPENCODE_DISABLE_SHARE: "1",
    OPENCODE_PURE: "1",
    OPENCODE_DISABLE_LSP_DOWNLOAD: "1",
    OPENCODE_DISABLE_DEFAULT_PLUGINS: "1",
    OPENCODE_DISABLE_PROJECT_CONFIG: "1",
    OPENCODE_DISABLE_CLAUDE_CODE: "1",
    OPENCODE_DISABLE_EXTERNAL_SKILLS: "1",
    HTTP_PROXY: DEAD,
    HTTPS_PROXY: DEAD,
    http_proxy: DEAD,
    https_proxy: DEAD,
    NO_PROXY: "127.0.0.1,localhost",
    no_proxy: "127.0.0.1,localhost",
    npm_config_registry: `${DEAD}/`,
    npm_config_offline: "true",
    NO_COLOR: "1",
    ...opts.env,
  };
  const started = Date.now();
  const child = spawn(opencodeBinary(), ["run", opts.prompt], { cwd: opts.cwd, env, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs);
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (c) => resolve(c));
  }).finally(() => clearTimeout(timer));
  return { code, stdout, stderr, durationMs: Date.now() - started };
}
