import { describe, expect, it } from "vitest";
import { failedResult, OutputCollector } from "../../../src/exec/output/output-collector.js";

describe("OutputCollector", () => {
  it("forwards a character split across chunks whole, per stream", () => {
    const seen: Record<string, string[]> = { stdout: [], stderr: [] };
    const c = new OutputCollector({ outputCapBytes: 1000, onOutput: (s, t) => seen[s]!.push(t) });
    const euro = Buffer.from("€"); // three bytes
    c.push("stdout", euro.subarray(0, 1));
    c.push("stderr", Buffer.from("é").subarray(0, 1));
    c.push("stdout", euro.subarray(1));
    c.push("stderr", Buffer.from("é").subarray(1));
    expect(seen.stdout!.join("")).toBe("€");
    expect(seen.stderr!.join("")).toBe("é");
    expect(seen.stdout!.some((t) => t.includes("\uFFFD"))).toBe(false);
    const r = c.result({ exit_code: 0, timed_out: false });
    expect(r).toMatchObject({ exit_code: 0, signal: null, stdout: "€", stderr: "é", timed_out: false, truncated: false });
    expect(r).not.toHaveProperty("error");
  });

  it("caps each stream and reports truncation", () => {
    const c = new OutputCollector({ outputCapBytes: 10 });
    c.push("stdout", Buffer.alloc(1000, "a"));
    c.push("stderr", Buffer.from("ok"));
    const r = c.result({ exit_code: null, signal: "SIGKILL", timed_out: true, error: "x" });
    expect(r.truncated).toBe(true);
    expect(r.stdout).toBe(`aaaaa\n[... 990 bytes truncated ...]\naaaaa`);
    expect(r).toMatchObject({ stderr: "ok", exit_code: null, signal: "SIGKILL", timed_out: true, error: "x" });
  });

  it("failedResult has the one result shape", () => {
    expect(failedResult("boom", Date.now())).toMatchObject({ exit_code: null, signal: null, stdout: "", stderr: "", timed_out: false, truncated: false, error: "boom" });
  });
});
