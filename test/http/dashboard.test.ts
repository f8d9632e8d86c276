import { existsSync, mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { chromium, type Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectMcp, raw, startTestServer, testPolicy, TOKEN, type HttpMcpClient, type TestServer } from "./support.js";

/** Debian's chromium, no browser download (FACTS: Browsers and dashboards). */
const CHROMIUM = "/usr/bin/chromium";
const SCREENSHOT_DIR = resolve("test-output");

describe("the dashboard in a real headless Chromium", () => {
  let s: TestServer;
  let c: HttpMcpClient;
  let browser: Browser;
  beforeAll(async () => {
    // `touch` asks a human (the SDK client here cannot elicit, so the call waits in the operator queue).
    const policy = testPolicy() as { commands: Record<string, unknown> };
    s = await startTestServer({ token: TOKEN }, { ...policy, commands: { ...policy.commands, ask: [{ program: "touch", name: "ask-touch" }] } });
    c = await connectMcp(s.url, TOKEN);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--no-sandbox", "--disable-background-networking", "--disable-component-update", "--no-first-run"],
    });
  });
  afterAll(async () => {
    await browser?.close();
    await c?.close();
    await s?.close();
  });

  it("shows a denied call live with its rule, with no CSP violation and the token in no URL", async () => {
    await c.call("execute_command", { command: "echo before-the-page" });
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    const page = await context.newPage();
    const urls: string[] = [];
    const problems: string[] = [];
    const failed: string[] = [];
    page.on("request", (r) => urls.push(r.url()));
    page.on("response", (r) => {
      if (r.status() >= 400) failed.push(`${r.status()} ${new URL(r.url()).pathname}`);
    });
    page.on("console", (m) => {
      // Failed requests are checked below by URL; anything else (a CSP violation, a script error) is a problem.
      if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) problems.push(m.text());
    });
    page.on("pageerror", (e) => problems.push(e.message));
    await page.goto(`${s.url}/dashboard/`);
    await page.fill("#token", TOKEN);
    await page.click("button[type=submit]");
    await page.locator("#live-state.live").waitFor({ timeout: 15_000 });
    await page.locator("#live-body tr", { hasText: "execute_command" }).first().waitFor();

    const denied = await c.call("execute_command", { command: "ls /" });
    expect(denied.isError).toBe(true);
    const rule = /\[rule: ([^\]]+)\]|denied by (\S+):/.exec(denied.content.map((x) => ("text" in x ? x.text : "")).join(""))!;
    const ruleName = (rule[1] ?? rule[2])!;
    const row = page.locator("#live-body tr.deny").first();
    await row.waitFor({ timeout: 10_000 });
    expect(await row.locator(".rule").textContent()).toBe(ruleName);
    expect(await row.locator(".pill").textContent()).toBe("deny");

    // Top denials and sessions follow the stream; the timeline exports and the chain verifies.
    await page.locator("#top li", { hasText: ruleName }).waitFor({ timeout: 10_000 });
    await page.locator("#health .chip", { hasText: "native" }).waitFor();
    await page.locator("#sessions li button").first().click();
    await page.locator("#timeline tr.deny").waitFor();
    await page.click("#verify");
    await page.locator("#verify-result.good").waitFor();
    expect(await page.locator("#verify-result").textContent()).toMatch(/Chain intact: \d+ records verified/);
    const download = page.waitForEvent("download");
    await page.click("#export");
    expect((await download).suggestedFilename()).toBe(`session-${c.transport.sessionId}.jsonl`);

    // A queued call shows in the approvals panel; approving it from the page lets it run, once.
    const waiting = c.call("execute_command", { command: "touch approved-marker" }, () => {});
    const item = page.locator("#approvals li.pending", { hasText: "touch approved-marker" });
    await item.waitFor({ timeout: 15_000 });
    expect(await item.locator(".rule").textContent()).toBe("ask-touch");
    await item.locator("button.approve").click();
    const ran = await waiting;
    expect(ran.isError, JSON.stringify(ran.content)).toBeFalsy();
    expect(existsSync(join(s.root, "approved-marker"))).toBe(true);
    await item.waitFor({ state: "detached" });
    const metrics = (await raw(s.url, { path: "/metrics", headers: { authorization: `Bearer ${TOKEN}` } })).text;
    expect(metrics).toMatch(/^mcp_warden_approvals_total\{outcome="approved"\} 1$/m);
    expect(metrics).toMatch(/^mcp_warden_approvals_pending 0$/m);

    // Pause holds new records back; resume shows them.
    await page.click("#pause");
    const before = await page.locator("#live-body tr").count();
    await c.call("read_file", { path: "hello.txt" });
    await page.waitForTimeout(500); // eslint-disable-line -- a negative check: the row must NOT appear while paused
    expect(await page.locator("#live-body tr").count()).toBe(before);
    await page.click("#pause");
    await page.locator("#live-body tr", { hasText: "read_file" }).first().waitFor();

    mkdirSync(SCREENSHOT_DIR, { recursive: true });
    const shot = join(SCREENSHOT_DIR, "dashboard.png");
    await page.screenshot({ path: shot, fullPage: true });
    process.stdout.write(`dashboard screenshot: ${shot}\n`);

    expect(problems).toEqual([]);
    expect(failed).toEqual([]);
    expect(urls.filter((u) => u.includes(TOKEN))).toEqual([]);
    expect(await page.evaluate(() => sessionStorage.getItem("mcp-warden-token"))).toBe(TOKEN);
    await context.close();
  });
});
