// DOM helpers: every value goes in as text, never as HTML.
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) if (c !== undefined && c !== null) node.append(c instanceof Node ? c : String(c));
  return node;
}

export const decisionOf = (r) => (r.phase === "intent" ? "intent" : (r.decision ?? "error"));
const time = (iso) => (iso ? new Date(iso).toLocaleTimeString([], { hour12: false }) : "");
const short = (s, n = 10) => (s && s.length > n ? `${s.slice(0, n)}…` : (s ?? ""));

/** What a record did, in one line: the command, the path, or the outcome. */
function detail(r) {
  const a = r.args ?? {};
  const what = a.command ?? a.path ?? (a.paths ? a.paths.join(", ") : "");
  const parts = [what, r.exit_code !== undefined && r.exit_code !== null ? `exit ${r.exit_code}` : "", r.duration_ms !== undefined ? `${r.duration_ms} ms` : ""];
  return parts.filter(Boolean).join(" · ");
}

export function recordRow(r, { session = true } = {}) {
  const d = decisionOf(r);
  return el(
    "tr",
    { class: `rec ${d}`, "data-seq": r.seq },
    el("td", { class: "num" }, r.seq),
    el("td", { class: "num", title: r.time }, time(r.time)),
    el("td", {}, el("span", { class: `pill ${d}` }, d)),
    el("td", {}, r.tool),
    el("td", { class: "rule" }, r.rule ?? ""),
    session ? el("td", { class: "mono", title: r.session ?? "" }, short(r.session)) : null,
    el("td", { class: "detail", title: detail(r) }, detail(r)),
  );
}

export function chip(label, value, state = "ok") {
  return el("li", { class: `chip ${state}` }, el("span", { class: "k" }, label), el("span", { class: "v" }, value));
}

export function replace(node, ...children) {
  node.replaceChildren(...children.flat());
}
