/**
 * Copy-on-write workspaces (issue 12): a named object under the state dir holding, per root, the
 * layers overlayfs stacks over the real tree. The engine (this folder) makes, mounts, diffs, applies,
 * checkpoints, forks, resets and discards them; `warden workspace ...` (src/cli/commands/workspace.ts)
 * is its command line. Nothing here imports the server, the tools or the MCP SDK.
 */
export { WorkspaceError } from "./errors.js";
export { defaultStateDir, futureStateDir } from "./state-dir.js";
export { DRIVER_NAMES, TEST_REFUSE_ENV, type DriverAttempt } from "./drivers.js";
export { openWorkspace, type OpenWorkspaceOptions, type WorkspaceHandle, type MergedRoot } from "./open.js";
export { diffWorkspace, onlyRoot } from "./diff.js";
export { describeWorkspace, listWorkspaces, liveWorkspaceDir, type WorkspaceSummary } from "./list.js";
export type { Change, EntryInfo, WorkspaceDiff } from "./changes.js";
export { gitPatch } from "./patch/git-patch.js";
export { formatStat, statLines, type StatLine } from "./patch/stat.js";
export { applyWorkspace, type ApplyResult, type Conflict } from "./apply.js";
export { checkpointWorkspace, discardWorkspace, forkWorkspace, resetWorkspace } from "./lifecycle.js";
export { isValidName, NAME_RULE } from "./names.js";
export { recordHolderApi, snapshotLiveWorkspace } from "./snapshot.js";
export { LiveGate } from "./live-gate.js";
export { wsDirOf } from "./layout.js";
export { prepareStateDir } from "./state-dir.js";
