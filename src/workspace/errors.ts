/**
 * Why a workspace operation did not happen. `usage` is the caller's input (a bad name, an unknown
 * workspace, a state dir that is a file: exit 2); `failure` is the world refusing (a mount the
 * kernel rejects, a conflict on apply, a workspace in use: exit 1). Every message names the problem
 * and the fix; nothing on disk is lost when one is thrown.
 */
export class WorkspaceError extends Error {
  override name = "WorkspaceError";
  /** `not_found`: no workspace (or checkpoint) by that name; the HTTP API answers 404 for it. */
  readonly code: "not_found" | undefined;
  constructor(
    message: string,
    readonly kind: "usage" | "failure" = "failure",
    options?: { cause?: unknown; code?: "not_found" },
  ) {
    super(message, options);
    this.code = options?.code;
  }
}

export const usageError = (message: string): WorkspaceError => new WorkspaceError(message, "usage");
export const notFoundError = (message: string): WorkspaceError => new WorkspaceError(message, "usage", { code: "not_found" });
