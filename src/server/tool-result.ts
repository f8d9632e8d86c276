import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import type { ToolOutcome } from "../tools/tool.js";

/** Turns the tool layer's one result shape into an MCP CallToolResult. */
export function toCallToolResult(outcome: ToolOutcome): CallToolResult {
  if (outcome.ok) {
    const notes = typeof outcome.structured.note === "string" ? [{ type: "text" as const, text: outcome.structured.note }] : [];
    return { content: [{ type: "text", text: outcome.text }, ...notes], structuredContent: outcome.structured };
  }
  return { content: [{ type: "text", text: `${outcome.message} [rule: ${outcome.rule}]` }], isError: true };
}
