// Writes policies/policy.schema.json from the zod policy schema (run after `npm run build`).
// `--check` exits 1 when the committed file is out of date.
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { z } from "zod";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const { policySchema } = await import(join(root, "dist/policy/schema/index.js"));
const schema = z.toJSONSchema(policySchema, { io: "input", target: "draft-2020-12" });
schema.title = "mcp-warden policy";
const text = JSON.stringify(schema, null, 2) + "\n";
const out = join(root, "policies/policy.schema.json");
if (process.argv.includes("--check")) {
  let current = "";
  try { current = readFileSync(out, "utf8"); } catch {}
  if (current !== text) {
    console.error("policies/policy.schema.json is out of date: run `npm run build && node scripts/gen-policy-schema.mjs`");
    process.exit(1);
  }
} else {
  writeFileSync(out, text);
  console.log(`wrote ${out}`);
}
