/**
 * POSIX shell quoting for command lines a remote shell will parse (ssh, docker wrappers, the host
 * agent). Single quotes keep every byte literal; an embedded `'` becomes `'\''`. Never builds a
 * command from unquoted input.
 */
export function shellQuote(word: string): string {
  if (/^[A-Za-z0-9_./=:@%+,-]+$/.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** Quotes and joins an argv. */
export function shellJoin(argv: readonly string[]): string {
  return argv.map(shellQuote).join(" ");
}

/** Environment names a shell can assign: anything else is dropped rather than quoted into a command. */
export function isEnvName(name: string): boolean {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(name);
}
