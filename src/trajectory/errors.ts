/**
 * A trajectory cannot be read as asked: an unknown session, a log that does not verify where the
 * session lies, a missing log. `usage` marks the caller's mistake (exit 2); anything else is a
 * failure (exit 1), such as a tampered log.
 */
export class TrajectoryError extends Error {
  override name = "TrajectoryError";
  constructor(
    message: string,
    readonly usage = false,
  ) {
    super(message);
  }
}
