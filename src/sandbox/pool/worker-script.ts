import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** How to start a sandbox worker: the script, and extra workerData it needs. */
export interface WorkerScript {
  url: URL;
  data: Record<string, unknown>;
}

/**
 * The worker entry. From `dist/` it is the compiled `worker.js` beside this file. From TypeScript
 * sources (vitest runs `src/` directly and Node 20 cannot load `.ts`), the sources are transpiled
 * here with the `typescript` dev dependency and the worker starts from a tiny bootstrap that
 * registers module hooks serving them; no files are written.
 */
export async function workerScript(): Promise<WorkerScript> {
  const compiled = new URL("./worker.js", import.meta.url);
  if (existsSync(fileURLToPath(compiled))) return { url: compiled, data: {} };
  const source = new URL("./worker.ts", import.meta.url);
  if (!existsSync(fileURLToPath(source))) throw new Error("mcp-warden: sandbox worker entry not found (run `npm run build`)");
  const sources = await transpileGraph(source);
  return { url: new URL(`data:text/javascript,${encodeURIComponent(bootstrap(source))}`), data: { tsSources: sources } };
}

/** `entry` and every `.ts` file it reaches through relative imports, transpiled to ESM, keyed by file URL. */
async function transpileGraph(entry: URL): Promise<Record<string, string>> {
  const ts = (await import("typescript")).default;
  const out: Record<string, string> = {};
  const pending = [entry.href];
  while (pending.length > 0) {
    const href = pending.pop()!;
    if (href in out) continue;
    const file = fileURLToPath(href);
    const result = ts.transpileModule(readFileSync(file, "utf8"), {
      fileName: file,
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, inlineSourceMap: true },
    });
    out[href] = result.outputText;
    for (const m of result.outputText.matchAll(/(?:from|import)\s*\(?\s*["'](\.{1,2}\/[^"']+)\.js["']/g)) {
      const next = new URL(`${m[1]}.ts`, href);
      if (existsSync(fileURLToPath(next))) pending.push(next.href);
    }
  }
  return out;
}

/** Module hooks (run in Node's hooks thread): `./x.js` -> `./x.ts` when transpiled, served from memory. */
const HOOKS = `
let sources = {};
export function initialize(data) { sources = data ?? {}; }
export async function resolve(specifier, context, next) {
  if (context.parentURL && context.parentURL in sources && (specifier.startsWith("./") || specifier.startsWith("../")) && specifier.endsWith(".js")) {
    const candidate = new URL(specifier.slice(0, -3) + ".ts", context.parentURL).href;
    if (candidate in sources) return { url: candidate, format: "module", shortCircuit: true };
  }
  return next(specifier, context);
}
export async function load(url, context, next) {
  if (url in sources) return { format: "module", source: sources[url], shortCircuit: true };
  return next(url, context);
}
`;

function bootstrap(entry: URL): string {
  return `
import { register } from "node:module";
import { workerData } from "node:worker_threads";
register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(HOOKS)}`)}, { data: workerData.tsSources });
await import(${JSON.stringify(entry.href)});
`;
}
