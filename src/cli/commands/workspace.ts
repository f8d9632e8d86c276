import type { Command } from "commander";
import {
  applyWorkspace,
  checkpointWorkspace,
  defaultStateDir,
  diffWorkspace,
  discardWorkspace,
  forkWorkspace,
  formatStat,
  gitPatch,
  listWorkspaces,
  liveWorkspaceDir,
  onlyRoot,
  resetWorkspace,
  statLines,
  WorkspaceError,
  type WorkspaceSummary,
} from "../../workspace/index.js";
import { askWorkspaceControl } from "../../server/workspace-control.js";

interface StateFlags {
  stateDir?: string;
}

/**
 * `warden workspace list|diff|apply|discard|checkpoint|fork|reset`: the operator's commands over
 * copy-on-write workspaces (never an MCP tool: the agent does not manage its own workspace).
 * Exit 0 success, 1 failure (a refused apply, a live workspace, a mount the kernel refuses),
 * 2 usage (a bad name or flag, an unknown workspace, a state dir that is not a directory).
 */
export function registerWorkspaceCommand(program: Command): void {
  const ws = program
    .command("workspace")
    .description("copy-on-write workspaces: list, diff, apply, discard, checkpoint, fork, reset")
    .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2));
  const stateOpt = (c: Command) => c.option("--state-dir <dir>", `where workspaces live (default ${defaultStateDir()})`);
  const dirOf = (f: StateFlags) => f.stateDir ?? defaultStateDir();

  stateOpt(ws.command("list").description("every workspace: name, state (live, orphaned, closed), roots, created, size of changes"))
    .option("--json", "print JSON")
    .action((flags: StateFlags & { json?: boolean }) =>
      run(() => {
        const all = listWorkspaces({ stateDir: dirOf(flags) });
        process.stdout.write(flags.json ? `${JSON.stringify(all, null, 2)}\n` : formatList(all));
      }),
    );

  stateOpt(ws.command("diff").description("what a workspace changed against the real tree: names (default), --stat, or a git patch (--patch)"))
    .argument("<name>")
    .option("--stat", "git diff --stat style summary")
    .option("--patch", "a patch `git apply` takes on the original tree")
    .option("--root <path>", "only this root (with several roots, --patch prints one patch per root)")
    .option("--json", "print the change list as JSON")
    .action((name: string, flags: StateFlags & { stat?: boolean; patch?: boolean; root?: string; json?: boolean }) =>
      run(() => {
        if ([flags.stat, flags.patch, flags.json].filter(Boolean).length > 1) throw new WorkspaceError("give at most one of --stat, --patch, --json", "usage");
        const diff = onlyRoot(diffWorkspace({ stateDir: dirOf(flags), name }), flags.root);
        const several = diff.roots.length > 1;
        if (flags.json) {
          const rows = diff.roots.flatMap((r) => r.changes.map((c) => ({ root: r.root, path: c.path, status: c.status, old: c.old && { kind: c.old.kind, mode: c.old.mode, size: c.old.size }, new: c.new && { kind: c.new.kind, mode: c.new.mode, size: c.new.size } })));
          process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
          return;
        }
        for (const r of diff.roots) {
          if (flags.patch) {
            const { patch, skipped } = gitPatch(r.changes);
            if (several) process.stdout.write(`# root ${r.root}\n`);
            process.stdout.write(patch);
            for (const s of skipped) process.stderr.write(`warden: not in the patch: ${r.root}/${s.path} (${s.reason})\n`);
          } else if (flags.stat) {
            process.stdout.write(formatStat(statLines(r.changes), several ? `${r.root}/` : ""));
          } else {
            for (const c of r.changes) {
              const kind = (c.new ?? c.old)!.kind;
              const tag = c.status === "added" ? "A" : c.status === "deleted" ? "D" : "M";
              process.stdout.write(`${tag}\t${several ? `${r.root}/` : ""}${c.path}${kind === "dir" ? "/" : ""}\n`);
            }
          }
        }
      }),
    );

  stateOpt(ws.command("apply").description("bring a workspace's changes onto the real tree; refuses, listing them, when real files changed underneath"))
    .argument("<name>")
    .option("--force", "apply even over real changes made since (those are lost)")
    .action((name: string, flags: StateFlags & { force?: boolean }) =>
      run(() => {
        const r = applyWorkspace({ stateDir: dirOf(flags), name, force: flags.force === true });
        if (!r.applied) {
          process.stdout.write(`refused: the real tree changed under ${r.conflicts.length} path${r.conflicts.length === 1 ? "" : "s"} after workspace ${name} changed them:\n`);
          for (const c of r.conflicts) process.stdout.write(`  ${c.root}/${c.path}: ${c.reason}\n`);
          process.stdout.write("nothing was applied; look at them, then run again with --force to overwrite them\n");
          process.exitCode = 1;
          return;
        }
        process.stdout.write(`${r.resumed ? "finished an interrupted apply: " : "applied: "}${r.operations} operation${r.operations === 1 ? "" : "s"} on the real tree\n`);
      }),
    );

  stateOpt(ws.command("discard").description("remove a workspace and its layers (the real tree is not touched)"))
    .argument("<name>")
    .action((name: string, flags: StateFlags) => run(() => {
      discardWorkspace({ stateDir: dirOf(flags), name });
      process.stdout.write(`discarded ${name}\n`);
    }));

  stateOpt(ws.command("checkpoint").description("freeze the current state under a label (no copy); a live workspace: the server holding it takes a live checkpoint (a copy of its changes)"))
    .argument("<name>")
    .option("--label <label>", "the checkpoint's label (default checkpoint-N)")
    .action((name: string, flags: StateFlags & { label?: string }) => runAsync(async () => {
      const target = { stateDir: dirOf(flags), name, ...(flags.label !== undefined ? { label: flags.label } : {}) };
      // Held live by a server: it checkpoints through its control socket (server/workspace-control.ts), stdio servers included.
      const live = liveWorkspaceDir(target);
      const asked = live ? await askWorkspaceControl(live, { op: "checkpoint", ...(target.label !== undefined ? { label: target.label } : {}) }) : null;
      if (asked?.ok) return void process.stdout.write(`checkpoint ${asked.label} of ${name} (live: a copy of its changes, taken by the server holding it)\n`);
      if (asked) throw new WorkspaceError(`cannot checkpoint workspace ${name}: ${asked.message}`, asked.code === "invalid_request" || asked.code === "not_found" ? "usage" : "failure");
      // Not live, or held by a server without a control socket (then this refuses, naming what to do).
      const r = checkpointWorkspace(target);
      process.stdout.write(`checkpoint ${r.label} of ${name}\n`);
    }));

  stateOpt(ws.command("fork").description("a new workspace starting from this one's current state or a checkpoint"))
    .argument("<name>")
    .argument("<new>")
    .option("--from <label>", "start from this checkpoint")
    .action((name: string, newName: string, flags: StateFlags & { from?: string }) => run(() => {
      forkWorkspace({ stateDir: dirOf(flags), name, newName, ...(flags.from !== undefined ? { from: flags.from } : {}) });
      process.stdout.write(`forked ${name}${flags.from ? ` at ${flags.from}` : ""} into ${newName}\n`);
    }));

  stateOpt(ws.command("reset").description("drop changes made since a checkpoint (default: the latest one, or the start)"))
    .argument("<name>")
    .option("--to <label>", "the checkpoint to go back to")
    .action((name: string, flags: StateFlags & { to?: string }) => run(() => {
      const r = resetWorkspace({ stateDir: dirOf(flags), name, ...(flags.to !== undefined ? { to: flags.to } : {}) });
      process.stdout.write(`reset ${name} to ${r.to ?? "its start"}\n`);
    }));
}

/** One place that turns a WorkspaceError into its exit code: 2 for usage, 1 for the rest. */
function run(fn: () => void): void {
  try {
    fn();
  } catch (err) {
    failed(err);
  }
}

async function runAsync(fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    failed(err);
  }
}

function failed(err: unknown): void {
  if (!(err instanceof WorkspaceError)) throw err;
  process.stderr.write(`warden: ${err.message}\n`);
  process.exitCode = err.kind === "usage" ? 2 : 1;
}


function formatList(all: WorkspaceSummary[]): string {
  if (all.length === 0) return "no workspaces\n";
  const rows = all.map((w) => [
    w.name,
    w.state === "live" ? `live (pid ${w.holderPid})` : w.state,
    w.state === "damaged" ? "-" : w.created.replace(/\.\d+Z$/, "Z"),
    `${w.changedEntries} entries, ${human(w.changedBytes)}`,
    String(w.checkpoints.length),
    w.problem ?? w.roots.join(" "),
  ]);
  const head = ["NAME", "STATE", "CREATED", "CHANGES", "CHECKPOINTS", "ROOTS"];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => `${r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join("  ")}\n`;
  return line(head) + rows.map(line).join("");
}

function human(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}
