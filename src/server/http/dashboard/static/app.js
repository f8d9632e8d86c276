import { api, stream, token } from "./api.js";
import { chip, el, recordRow, replace } from "./views.js";

const $ = (id) => document.getElementById(id);
const MAX_ROWS = 300;
const state = { paused: false, held: [], stop: null, lastSeq: undefined, session: null, timeline: [], connected: false, noQueue: false };

function showError(err) {
  $("error").hidden = !err;
  $("error").textContent = err ? err.message : "";
  if (err?.status === 401) $("token").focus();
}

function filters() {
  const f = new FormData($("filters"));
  return { tool: f.get("tool").trim(), decision: f.get("decision"), rule: f.get("rule").trim() };
}

// ---- live decisions
function addLive(records) {
  const body = $("live-body");
  for (const r of records) body.prepend(recordRow(r));
  while (body.rows.length > MAX_ROWS) body.deleteRow(body.rows.length - 1);
  $("live-note").textContent = body.rows.length ? "" : "No records yet: calls appear here as they are decided.";
}

async function startLive() {
  state.stop?.();
  const f = filters();
  replace($("live-body"));
  try {
    const page = await api("/api/v1/audit", { params: { ...f, order: "desc", limit: 50 } });
    addLive(page.records.slice().reverse());
    const status = await api("/api/v1/status");
    state.lastSeq = status.chain_head?.seq ?? 0;
  } catch (err) {
    return showError(err);
  }
  state.stop = stream(f, {
    lastId: state.lastSeq,
    onRecord: (r) => {
      state.lastSeq = r.seq;
      if (state.paused) state.held.push(r);
      else addLive([r]);
      scheduleRefresh();
    },
    onState: (s, err) => {
      $("live-state").textContent = s;
      $("live-state").className = `state ${s}`;
      if (err) showError(err);
    },
  });
}

function togglePause() {
  state.paused = !state.paused;
  $("pause").textContent = state.paused ? `Resume` : "Pause";
  $("pause").setAttribute("aria-pressed", String(state.paused));
  if (!state.paused) {
    addLive(state.held);
    state.held = [];
  }
}

// ---- health, top denials, approvals, sessions
async function refreshHealth() {
  const [status, ready] = await Promise.all([api("/api/v1/status"), fetch("/ready").then((r) => r.json())]);
  replace(
    $("health"),
    chip("ready", ready.status === "ready" ? "yes" : "no", ready.status === "ready" ? "ok" : "bad"),
    chip("backend", `${status.backend}${status.confinement ? ` · ${status.confinement}` : ""}`),
    chip("policy", status.policy_sha256.slice(0, 12)),
    chip("chain head", status.chain_head ? `#${status.chain_head.seq} ${status.chain_head.hash.slice(0, 8)}` : "no log", status.last_audit_error ? "bad" : "ok"),
    chip("version", status.version),
  );
  if (ready.reasons?.length) $("health").append(chip("problem", ready.reasons.join("; "), "bad"));
}

async function refreshTop() {
  const s = await api("/api/v1/audit/stats", { params: { since: $("window").value, top: 8 } });
  const max = Math.max(1, ...s.top_denials.map((d) => d.count));
  replace(
    $("top"),
    s.top_denials.map((d) => {
      const bar = el("span", { class: "bar" });
      bar.style.width = `${Math.round((100 * d.count) / max)}%`;
      return el("li", {}, el("span", { class: "count" }, d.count), el("span", { class: "rule" }, d.rule), el("span", { class: "tool" }, d.tool), bar);
    }),
  );
  const by = s.by_decision;
  $("top-totals").textContent = `${s.records} records · allow ${by.allow ?? 0} · deny ${by.deny ?? 0} · error ${by.error ?? 0} · ${s.sessions} sessions`;
}

async function refreshApprovals() {
  if (state.noQueue) return;
  let data;
  try {
    data = await api("/api/v1/approvals");
  } catch (err) {
    state.noQueue = err.status === 404;
    $("appr-count").textContent = "–";
    return replace($("approvals"), el("li", { class: "note" }, err.status === 404 ? "This server has no approval queue." : err.message));
  }
  const items = data.approvals ?? [];
  $("appr-count").textContent = String(items.filter((a) => a.state === "pending").length);
  const answer = (a, decision) => async () => {
    try {
      await api(`/api/v1/approvals/${encodeURIComponent(a.id)}`, { method: "POST", body: { decision } });
      await refreshApprovals();
    } catch (err) {
      showError(err);
    }
  };
  replace(
    $("approvals"),
    items.length
      ? items.map((a) =>
          el(
            "li",
            { class: `approval ${a.state}`, "data-id": a.id },
            el("div", { class: "q" }, el("strong", {}, a.tool), " ", el("span", { class: "rule" }, a.rule)),
            el("div", { class: "question" }, a.question),
            el("div", { class: "meta" }, a.binding?.session ? `session ${String(a.binding.session).slice(0, 10)} · ` : "", a.binding?.expires_at ? `expires ${new Date(a.binding.expires_at).toLocaleTimeString([], { hour12: false })}` : ""),
            a.state === "pending"
              ? el("div", { class: "buttons" }, el("button", { class: "approve", onclick: answer(a, "approve") }, "Approve"), el("button", { class: "deny", onclick: answer(a, "deny") }, "Deny"))
              : el("div", { class: "meta" }, a.state),
          ),
        )
      : el("li", { class: "note" }, "Nothing waits for a human."),
  );
}

async function refreshSessions() {
  const { sessions } = await api("/api/v1/sessions");
  replace(
    $("sessions"),
    sessions.slice(0, 50).map((s) =>
      el(
        "li",
        { class: s.id === state.session ? "selected" : "" },
        el(
          "button",
          { type: "button", onclick: () => openSession(s.id) },
          el("span", { class: "mono" }, s.id.slice(0, 12)),
          el("span", { class: "meta" }, `${s.transport ?? ""} ${s.client ?? ""}`),
          el("span", { class: "meta" }, `${s.calls} calls · ${s.denied} denied · ${s.errors} errors`),
        ),
      ),
    ),
  );
}

async function openSession(id) {
  state.session = id;
  const data = await api(`/api/v1/sessions/${encodeURIComponent(id)}`);
  state.timeline = data.records;
  replace($("timeline"), data.records.map((r) => recordRow(r, { session: false })));
  $("export").disabled = false;
  refreshSessions();
}

function exportTimeline() {
  const blob = new Blob([state.timeline.map((r) => JSON.stringify(r)).join("\n") + "\n"], { type: "application/x-ndjson" });
  const a = el("a", { href: URL.createObjectURL(blob), download: `session-${state.session}.jsonl` });
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}

async function verifyChain() {
  $("verify-result").textContent = "verifying…";
  try {
    const v = await api("/api/v1/audit/verify");
    $("verify-result").textContent = v.ok ? `Chain intact: ${v.records} records verified.` : `Chain BROKEN at line ${v.line}: ${v.problem}`;
    $("verify-result").className = `note ${v.ok ? "good" : "bad"}`;
  } catch (err) {
    showError(err);
  }
}

// ---- wiring
let refreshTimer = null;
function scheduleRefresh() {
  refreshTimer ??= setTimeout(() => {
    refreshTimer = null;
    refreshAll();
  }, 1000);
}

async function refreshAll() {
  try {
    await Promise.all([refreshHealth(), refreshTop(), refreshApprovals(), refreshSessions()]);
    showError(null);
  } catch (err) {
    showError(err);
  }
}

function connect() {
  state.connected = true;
  $("logout").hidden = !token.get();
  $("login").classList.toggle("signed-in", Boolean(token.get()));
  startLive();
  refreshAll();
}

$("login").addEventListener("submit", (e) => {
  e.preventDefault();
  token.set($("token").value.trim());
  $("token").value = "";
  connect();
});
$("logout").addEventListener("click", () => {
  token.clear();
  state.stop?.();
  location.reload();
});
$("pause").addEventListener("click", togglePause);
$("filters").addEventListener("change", startLive);
$("filters").addEventListener("submit", (e) => e.preventDefault());
$("window").addEventListener("change", () => refreshTop().catch(showError));
$("export").addEventListener("click", exportTimeline);
$("verify").addEventListener("click", verifyChain);
setInterval(() => state.connected && refreshApprovals().catch(() => {}), 3000);
setInterval(() => state.connected && refreshHealth().catch(() => {}), 10000);
// With a token from this tab's session, reconnect at once; otherwise wait for Connect (an empty token
// is fine for a loopback server started without one).
if (token.get()) connect();
else $("token").focus();
