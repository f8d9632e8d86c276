import { describe, expect, it } from "vitest";
import { AuditFilterError, matchesFilter, parseAuditFilter, parseAuditPage } from "../../src/audit/query.js";
import type { AuditRecord } from "../../src/audit/types.js";

const NOW = Date.parse("2026-12-04T12:00:00Z");
const parse = (q: string) => parseAuditFilter(new URLSearchParams(q), NOW);
const rec = (over: Partial<AuditRecord>): AuditRecord => ({ seq: 1, prev: "0", time: "2026-12-04T11:30:00.000Z", tool: "execute_command", decision: "deny", rule: "commands.deny[0]", session: "s1", request: "7", ...over });

describe("audit filters", () => {
  const matching: [string, Partial<AuditRecord>, boolean][] = [
    ["", {}, true],
    ["since=1h", {}, true],
    ["since=15m", {}, false],
    ["until=2026-12-04T11:30:00Z", {}, false],
    ["until=2026-12-04T11:30:00.001Z", {}, true],
    ["tool=read_file,execute_command", {}, true],
    ["tool=read_file", {}, false],
    ["decision=deny", {}, true],
    ["decision=allow,error", {}, false],
    ["decision=intent", { phase: "intent", decision: undefined }, true],
    ["decision=deny", { phase: "intent", decision: undefined }, false],
    ["rule=commands.*", {}, true],
    ["rule=commands.deny", {}, false],
    ["rule=commands.deny[0]", {}, true],
    ["rule=fs.*", {}, false],
    ["rule=commands.*", { rule: undefined }, false],
    ["session=s1", {}, true],
    ["session=s2", {}, false],
    ["session=s1", { session: null }, false],
    ["request=7", {}, true],
    ["session=s1&decision=deny&tool=execute_command&since=2h", {}, true],
    ["session=s1&decision=allow", {}, false],
  ];
  it.each(matching)("%s on %j -> %s", (q, over, expected) => {
    expect(matchesFilter(rec(over), parse(q))).toBe(expected);
  });

  const refused: [string, RegExp][] = [
    ["sessoin=s1", /unknown filter "sessoin": use since, until, tool, decision, rule, session, request, limit, cursor, order/],
    ["decision=Deny", /decision "Deny" is not one of allow, deny, error, intent/],
    ["since=10x", /since "10x" is not a time/],
    ["since=12:00", /since "12:00" is not a time/],
    ["until=2026-13-45", /until "2026-13-45" is not a time/],
    ["since=1h&until=2h", /is not before until/],
    ["tool=", /filter "tool" is empty/],
    ["tool=a b", /has characters an id never has/],
    ["rule=<script>", /has characters an id never has/],
    ["session=s1&session=s2", /filter "session" is given twice/],
  ];
  it.each(refused)("refuses %s naming the problem", (q, message) => {
    expect(() => parse(q)).toThrow(AuditFilterError);
    expect(() => parse(q)).toThrow(message);
  });

  it("pages: limit 1..1000, a seq cursor, asc or desc", () => {
    expect(parseAuditPage(new URLSearchParams(""))).toEqual({ limit: 100, order: "asc" });
    expect(parseAuditPage(new URLSearchParams("limit=5&cursor=9&order=desc"))).toEqual({ limit: 5, cursor: 9, order: "desc" });
    for (const [q, m] of [["limit=1001", /out of range/], ["limit=x", /not a non-negative integer/], ["cursor=1.5", /not a non-negative integer/], ["order=up", /not asc or desc/]] as const) {
      expect(() => parseAuditPage(new URLSearchParams(q))).toThrow(m);
    }
  });
});
