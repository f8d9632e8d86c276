/**
 * Names of shell variables and environment entries. A shell variable that the shell itself reads
 * (PATH above all) must never be set by a command; an environment entry handed to a program must
 * be on the policy's env_assign_allow list, because PATH, LD_PRELOAD, GIT_SSH_COMMAND,
 * NODE_OPTIONS, BASH_ENV, npm_config_script_shell and friends all run code.
 */

/** Variables that change how the shell itself finds or runs programs or reads input. */
const SHELL_SPECIAL =
  /^(PATH|IFS|CDPATH|ENV|BASH_ENV|HOME|PS[0-4]|PROMPT_COMMAND|SHELLOPTS|BASHOPTS|GLOBIGNORE|BASH|BASH_[A-Z0-9_]*|HISTFILE|FPATH|PWD|OLDPWD|OPTIND|OPTARG|TMOUT|EXECIGNORE|FUNCNEST|INPUTRC|MAIL|MAILPATH|SHELL|LD_[A-Z0-9_]*|DYLD_[A-Z0-9_]*|POSIXLY_CORRECT|TIMEFORMAT|TMPDIR|COMP_[A-Z0-9_]*|READLINE_[A-Z0-9_]*|ZDOTDIR)$/;

/** A shell variable name (what `-v NAME` and assignments accept without evaluating anything). */
export const VALID_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** A variable a script may set for itself (not exported). */
export function shellVariableAllowed(name: string): boolean {
  return VALID_NAME.test(name) && !SHELL_SPECIAL.test(name);
}

/** A variable a script may hand to a program it runs. */
export function envAssignAllowed(name: string, allowGlobs: string[]): boolean {
  return shellVariableAllowed(name) && allowGlobs.some((g) => globToRegExp(g).test(name));
}

function globToRegExp(glob: string): RegExp {
  const body = glob.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".");
  return new RegExp(`^${body}$`);
}
