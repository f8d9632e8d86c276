import { describe, expect, it } from "vitest";
import { LiveGate } from "../../src/workspace/live-gate.js";

/** Lets every promise callback queued so far run. */
const settle = () => new Promise<void>((r) => setImmediate(r));

describe("LiveGate: a live checkpoint holds writers off, and refuses while commands run", () => {
  it("waits for a write in flight, then holds new writes and commands until its task is done", async () => {
    const gate = new LiveGate();
    const events: string[] = [];
    const leaveWrite = await gate.enter("write");
    let finish!: () => void;
    const quiet = gate.quiet("w", async () => {
      events.push("task starts");
      await new Promise<void>((r) => (finish = r));
      events.push("task ends");
      return "copied";
    });
    await settle();
    expect(events).toEqual([]); // the write in flight is not over
    const laterWrite = gate.enter("write").then((leave) => (events.push("later write"), leave));
    const laterCommand = gate.enter("command").then((leave) => (events.push("later command"), leave));
    leaveWrite();
    await settle();
    expect(events).toEqual(["task starts"]); // new writers wait while it runs
    finish();
    expect(await quiet).toBe("copied");
    (await laterWrite)();
    (await laterCommand)();
    expect(events).toEqual(["task starts", "task ends", "later write", "later command"]);
    expect(gate.running).toBe(0);
  });

  it("refuses while a command or background process runs, without running its task or holding anyone off", async () => {
    const gate = new LiveGate();
    const leave = await gate.enter("command");
    let ran = false;
    await expect(gate.quiet("w", async () => (ran = true))).rejects.toThrow(/1 command\(s\) or background process\(es\) run in it.*nothing was copied/);
    expect(ran).toBe(false);
    (await gate.enter("write"))(); // not held off by the refused checkpoint
    leave();
    leave(); // idempotent
    expect(gate.running).toBe(0);
    await expect(gate.quiet("w", async () => "ok")).resolves.toBe("ok");
  });

  it("runs two checkpoints one after the other, and a failed task opens the gate again", async () => {
    const gate = new LiveGate();
    const order: string[] = [];
    const a = gate.quiet("w", async () => {
      order.push("a");
      throw new Error("disk full");
    });
    const b = gate.quiet("w", async () => order.push("b"));
    await expect(a).rejects.toThrow("disk full");
    await b;
    (await gate.enter("write"))();
    expect(order).toEqual(["a", "b"]);
  });
});
