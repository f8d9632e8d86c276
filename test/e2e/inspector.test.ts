import { execFile } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeTempDir, removeDir, writeTree } from "../support/tree.js";
import { CLI, requireBuild, startWardenHttp, type WardenHttpProcess } from "./support/warden-process.js";

/** The MCP Inspector CLI (pinned devDependency) as an independent client, over stdio and HTTP. */

const run = promisify(execFile);
const require = createRequire(import.meta.url);
const INSPECTOR = join(dirname(require.resolve("@modelcontextprotocol/inspector/package.json")), "clients", "launcher", "build", "index.js");

const TOKEN = "inspector-token-0123456789";
let root: string;
let home: string;
beforeAll(() => {
  requireBuild();
  root = makeTempDir("warden-inspector-");
  home = makeTempDir("warden-inspector-home-");
  writeTree(root, { "note.txt": "inspected\n" });
});
afterAll(() => {
  removeDir(root);
  removeDir(home);
});

async function inspector(args: string[]): Promise<{ code: number; out: unknown; raw: string }> {
  try {
    const { stdout } = await run(process.execPath, [INSPECTOR, "--cli", ...args], {
      timeout: 60_000,
      // Its catalog file lives under HOME: keep it out of the user's.
      env: { ...process.env, HOME: home, MCP_CATALOG_PATH: join(home, "mcp.json"), NO_COLOR: "1" },
    });
    return { code: 0, out: JSON.parse(stdout), raw: stdout };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    let out: unknown;
    try {
      out = JSON.parse(e.stdout ?? "");
    } catch {
      out = undefined;
    }
    return { code: typeof e.code === "number" ? e.code : -1, out, raw: `${e.stdout}\n${e.stderr}` };
  }
}

describe("MCP Inspector CLI over stdio", () => {
  const server = () => [process.execPath, CLI, "serve", "--root", root];

  it("tools/list lists warden's tools", async () => {
    const r = await inspector([...server(), "--method", "tools/list"]);
    expect(r.code, r.raw).toBe(0);
    const names = (r.out as { tools: { name: string }[] }).tools.map((t) => t.name);
    expect(names).toEqual(expect.arrayContaining(["read_file", "write_file", "list_directory", "execute_command", "get_system_info"]));
  });

  it("tools/call read_file returns the file", async () => {
    const r = await inspector([...server(), "--method", "tools/call", "--tool-name", "read_file", "--tool-arg", "path=note.txt"]);
    expect(r.code, r.raw).toBe(0);
    expect(JSON.stringify(r.out)).toContain("inspected");
  });

  it("a denial is an isError result (the Inspector exits 5)", async () => {
    const r = await inspector([...server(), "--method", "tools/call", "--tool-name", "read_file", "--tool-arg", "path=/etc/passwd"]);
    expect(r.code, r.raw).toBe(5);
    expect((r.out as { isError?: boolean })?.isError).toBe(true);
  });
});

describe("MCP Inspector CLI over Streamable HTTP with a token", () => {
  let warden: WardenHttpProcess;
  beforeAll(async () => {
    warden = await startWardenHttp(["--root", root], { WARDEN_TOKEN: TOKEN });
  });
  afterAll(async () => {
    await warden?.stop();
  });

  it("tools/call list_directory", async () => {
    const args = ["--transport", "http", "--server-url", `${warden.url}/mcp`, "--method", "tools/call", "--tool-name", "list_directory", "--tool-arg", "path=."];
    const r = await inspector([...args, "--header", `Authorization: Bearer ${TOKEN}`]);
    expect(r.code, r.raw).toBe(0);
    expect(JSON.stringify(r.out)).toContain("note.txt");
    const refused = await inspector(args);
    expect(refused.code).not.toBe(0);
  });
});
