import { checkTar, checkRsync, checkZip } from "./archives.js";
import { checkFind } from "./find.js";
import { checkGit } from "./git.js";
import { checkMan, checkNpm, checkPager, checkRipgrep, checkSort, checkTee, checkUniq } from "./misc.js";
import type { Checker } from "./outcome.js";
import { checkAwk, checkSed } from "./text-tools.js";

export { DENIED_RUNNERS, WRAPPERS } from "./wrappers.js";
export type { CheckOutcome, Checker, InnerCommand } from "./outcome.js";

/**
 * Programs whose arguments can make them run another program or write a file. Their arguments
 * must be literal (a glob or a variable could smuggle `-c core.pager=...` in) and are checked here.
 */
export const CHECKERS: Record<string, Checker> = {
  git: checkGit,
  find: checkFind,
  tar: checkTar,
  rsync: checkRsync,
  zip: checkZip,
  awk: checkAwk,
  gawk: checkAwk,
  mawk: checkAwk,
  nawk: checkAwk,
  sed: checkSed,
  npm: checkNpm,
  npx: checkNpm,
  pnpm: checkNpm,
  pnpx: checkNpm,
  yarn: checkNpm,
  rg: checkRipgrep,
  sort: checkSort,
  tee: checkTee,
  uniq: checkUniq,
  man: checkMan,
  less: checkPager,
  more: checkPager,
};
