// Marks the CLI executable after tsc (npm links bin targets, but a direct `./dist/cli/main.js` needs +x).
import { chmodSync } from "node:fs";
chmodSync(new URL("../dist/cli/main.js", import.meta.url), 0o755);
