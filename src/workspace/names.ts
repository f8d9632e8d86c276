import { usageError } from "./errors.js";

/** Letters, digits, `.`, `_`, `-`; starts with a letter or digit; at most 64 characters. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export const NAME_RULE = "a workspace name is 1-64 characters of letters, digits, '.', '_' and '-', starting with a letter or digit";
export const LABEL_RULE = "a checkpoint label is 1-64 characters of letters, digits, '.', '_' and '-', starting with a letter or digit";

/** Whether `name` can name a workspace (it becomes a directory name under the state dir). */
export function isValidName(name: string): boolean {
  return NAME.test(name);
}

/** Throws a usage error naming the rule when `name` cannot name a workspace. */
export function checkName(name: string): string {
  if (!isValidName(name)) throw usageError(`invalid workspace name ${JSON.stringify(name)}: ${NAME_RULE}`);
  return name;
}

/** Throws a usage error naming the rule when `label` cannot label a checkpoint. */
export function checkLabel(label: string): string {
  if (!NAME.test(label)) throw usageError(`invalid checkpoint label ${JSON.stringify(label)}: ${LABEL_RULE}`);
  return label;
}
