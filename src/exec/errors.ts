/**
 * A backend or the bridge refusing to run something for a reason a policy names (for example
 * confinement unavailable). The bridge turns it into a denial carrying `rule`, not a crash.
 */
export class ExecRefusal extends Error {
  override name = "ExecRefusal";
  constructor(
    readonly rule: string,
    message: string,
  ) {
    super(message);
  }
}
