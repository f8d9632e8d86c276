export { formatCheck } from "./check-format.js";
export { decideCommand, decideProcessInput, decideProgram, decideWithParser } from "./decide.js";
export { namedWords, type NamedWord } from "./named-words.js";
export { loadParser } from "./parse.js";
export type { CommandDecision, CommandEnvironment, CommandVerdict, ExecutionPlan, ProgramDecision } from "./types.js";
