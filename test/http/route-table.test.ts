import { describe, expect, it } from "vitest";
import { matchRoute, type Route } from "../../src/server/http/route-table.js";

const route = (name: string): Route => ({ methods: ["GET"], handle: () => void name });
const routes: Record<string, Route> = {
  "/api/v1/approvals": route("list"),
  "/api/v1/approvals/{id}": route("one"),
  "/api/v1/workspaces/{name}/diff": route("diff"),
  "/api/v1/workspaces/current": route("current"),
  "/api/v1/workspaces/{name}": route("workspace"),
};

describe("matchRoute", () => {
  const cases: Array<[string, Route | undefined, Record<string, string>]> = [
    ["/api/v1/approvals", routes["/api/v1/approvals"], {}],
    ["/api/v1/approvals/ab12", routes["/api/v1/approvals/{id}"], { id: "ab12" }],
    ["/api/v1/approvals/a%20b", routes["/api/v1/approvals/{id}"], { id: "a b" }],
    ["/api/v1/approvals/", undefined, {}],
    ["/api/v1/approvals/a/b", undefined, {}],
    ["/api/v1/approvals/%E0%A4%A", undefined, {}],
    ["/api/v1/workspaces/run-1/diff", routes["/api/v1/workspaces/{name}/diff"], { name: "run-1" }],
    ["/api/v1/workspaces/current", routes["/api/v1/workspaces/current"], {}],
    ["/api/v1/workspaces/other", routes["/api/v1/workspaces/{name}"], { name: "other" }],
    ["/api/v1/workspaces/run-1/apply", undefined, {}],
    ["/api/v1/approval/x", undefined, {}],
    ["/constructor", undefined, {}],
    ["/__proto__", undefined, {}],
  ];
  it.each(cases)("%s", (path, expected, params) => {
    const match = matchRoute(routes, path);
    expect(match?.route).toBe(expected);
    if (expected) expect(match?.params).toEqual(params);
  });
});
