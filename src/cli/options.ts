import { InvalidArgumentError, Option } from "commander";

/** commander helper for repeatable options. */
export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/**
 * A usage error (bad or missing arguments): `warden` prints it and exits 2, as for commander's own
 * parse errors (SPEC: 0 success/allow, 1 failure/deny, 2 usage error).
 */
export class UsageError extends Error {
  override name = "UsageError";
}

/**
 * commander parser for an integer option in [min, max]; a bad value is a usage error whose
 * message echoes what was typed (commander adds `option '--port <port>' argument 'x' is invalid`).
 */
export function integerIn(min: number, max: number): (value: string) => number {
  return (value) => {
    const n = /^\s*\d+\s*$/.test(value) ? Number(value) : Number.NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) throw new InvalidArgumentError(`Give a whole number from ${min} to ${max}.`);
    return n;
  };
}

/** `--client-roots intersect|ignore`, shared by serve's stdio and HTTP modes. */
export function clientRootsOption(): Option {
  return new Option(
    "--client-roots <mode>",
    "intersect: the client's MCP roots narrow the configured roots; ignore: use the configured roots whatever the client says (default: the policy's filesystem.client_roots, else intersect)",
  ).choices(["intersect", "ignore"]);
}
