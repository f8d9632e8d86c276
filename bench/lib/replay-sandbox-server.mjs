// Diagnostic server for bench/fs.mjs: the real mcp-warden server (same dependencies, same tools,
// same stdio transport) except that each sandbox run is answered with the result the real sandbox
// gave the first time that exact request was made. The difference between this server and the
// real one is what the sandbox call costs; nothing else differs.
//   node bench/lib/replay-sandbox-server.mjs ROOT POLICY
import { buildDeps } from "../../dist/server/deps.js";
import { createWardenServer } from "../../dist/server/create-server.js";
import { StdioTransport } from "../../dist/server/stdio-transport.js";

const [root, policyPath] = process.argv.slice(2);
const deps = await buildDeps({ roots: [root], readOnly: [], allow: [], privileged: false, cwd: root, env: {}, log: () => {}, policyPath });
const real = deps.sandbox;
const recorded = new Map();
deps.sandbox = {
  ...real,
  async run(request) {
    const key = JSON.stringify([request.module, request.args, request.scope]);
    let result = recorded.get(key);
    if (!result) recorded.set(key, (result = await real.run(request)));
    return { ...result, stdout: result.stdout.slice() };
  },
};
await createWardenServer(deps).connect(new StdioTransport());
