import { commandEscapeSuite } from "../support/command-escape-suite.js";
import { startWarden } from "../support/warden-client.js";

/** The red team's escapes (test/support/command-escape-suite.ts) against the native backend, in normal and overlay mode. */
commandEscapeSuite("command sandbox escapes (default policy, real bubblewrap)", (args) => startWarden(args), Number(process.env.WARDEN_ESCAPE_TRIES ?? 300));
