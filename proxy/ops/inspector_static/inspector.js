// The inspector page: a live list of exchanges (long polling /events), one opened at a time.
// Plain JavaScript, no build step, nothing loaded from elsewhere. Every value shown comes from
// requests anyone could send, so the page is built with textContent only, never as HTML.
"use strict";

const BASE = "/_dialect/inspector";
const exchanges = new Map(); // id -> summary
let last = 0;
let opened = null;

const $ = (id) => document.getElementById(id);

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(typeof child === "string" || typeof child === "number" ? String(child) : child);
  }
  return node;
}

const sleep = (ms) => new Promise((done) => setTimeout(done, ms));

function statusClass(status) {
  return status ? `status s${String(status)[0]}` : "status";
}

function setState(text, kind) {
  const state = $("state");
  state.textContent = text;
  state.className = `state ${kind}`;
}

// -- the live list -----------------------------------------------------------------------------

async function poll() {
  let wait = 0; // the first answer at once: the page says "live" without waiting for traffic
  for (;;) {
    try {
      const answer = await fetch(`${BASE}/events?after=${last}&wait=${wait}`, { cache: "no-store" });
      wait = 1;
      if (!answer.ok) throw new Error(`HTTP ${answer.status}`);
      const data = await answer.json();
      if (data.last < last) {
        // The process restarted: its numbers start again.
        exchanges.clear();
        last = 0;
        continue;
      }
      for (const item of data.items) exchanges.set(item.id, item);
      if (data.items.length) {
        last = Math.max(last, ...data.items.map((item) => item.id));
        render(new Set(data.items.map((item) => item.id)));
      }
      if (data.closed) {
        setState("stopped", "down");
        await sleep(2000);
      } else {
        setState("live", "live");
      }
    } catch (error) {
      setState("reconnecting…", "down");
      await sleep(2000);
    }
  }
}

// A path as the list shows it: long identifiers before the last segment shortened (every
// Twilio path carries its account SID), and the cell cut at its start, where paths agree.
function shortPath(path) {
  const [bare, ...query] = path.split("?");
  const segments = bare.split("/");
  const shown = segments.map((seg, i) => (i < segments.length - 1 && seg.length > 16 ? `${seg.slice(0, 6)}…` : seg));
  return [shown.join("/"), ...query].join("?");
}

function shown(item) {
  const route = $("route-filter").value;
  const status = $("status-filter").value;
  if (route && item.route !== route) return false;
  if (status === "error") return Boolean(item.error) || item.status >= 500;
  if (status && String(item.status)[0] !== status) return false;
  return true;
}

function render(fresh) {
  const routes = new Set([...exchanges.values()].map((item) => item.route).filter(Boolean));
  const select = $("route-filter");
  const known = new Set([...select.options].map((option) => option.value));
  for (const route of [...routes].sort()) {
    if (!known.has(route)) select.append(el("option", { value: route }, route));
  }
  const body = $("exchanges").tBodies[0];
  body.replaceChildren();
  const ids = [...exchanges.keys()].sort((a, b) => b - a);
  let count = 0;
  for (const id of ids) {
    const item = exchanges.get(id);
    if (!shown(item)) continue;
    count += 1;
    const calls = item.calls.map((call) => call.status ?? "×").join(" ");
    const row = el(
      "tr",
      { "data-id": id, onclick: () => open(id) },
      el("td", {}, id),
      el("td", { class: "muted" }, item.time.slice(11, 23)),
      el("td", {}, item.route || (item.kind === "callback" ? "callback" : "—")),
      el("td", {}, item.method),
      el("td", { class: "path", title: item.path }, el("span", { dir: "ltr" }, shortPath(item.path))),
      el("td", { class: statusClass(item.status) }, item.status),
      el("td", {}, item.latency_ms.toFixed(1)),
      el("td", { class: "muted", title: item.calls.map((c) => `${c.method} ${c.url}`).join("\n") }, calls),
    );
    if (item.replay_of) row.title = `replay of #${item.replay_of}`;
    if (id === opened) row.classList.add("open");
    if (fresh && fresh.has(id)) row.classList.add("fresh");
    body.append(row);
  }
  $("empty").hidden = exchanges.size > 0;
  $("count").textContent = `${count} shown, ${exchanges.size} kept`;
}

// -- one exchange ------------------------------------------------------------------------------

async function open(id) {
  opened = id;
  for (const row of $("exchanges").tBodies[0].rows) {
    row.classList.toggle("open", Number(row.dataset.id) === id);
  }
  const detail = $("detail");
  const answer = await fetch(`${BASE}/exchanges/${id}`, { cache: "no-store" });
  if (!answer.ok) {
    detail.replaceChildren(el("p", { class: "hint" }, `#${id} is no longer kept (the history keeps the newest).`));
    return;
  }
  const ex = await answer.json();
  if (opened !== id) return;
  detail.replaceChildren(...view(ex));
}

function view(ex) {
  const callback = ex.kind === "callback";
  const parts = [];
  parts.push(el("h2", {}, `#${ex.id} ${ex.method} ${ex.path}`));
  parts.push(
    el(
      "p",
      { class: "facts" },
      el("span", { class: statusClass(ex.status) }, ex.status),
      ` in ${ex.latency_ms.toFixed(1)} ms · route `,
      el("b", {}, ex.route || (callback ? "callback" : "none")),
      ` · ${ex.upstream.length} ${callback ? "app" : "upstream"} call${ex.upstream.length === 1 ? "" : "s"} · trace `,
      el("b", { title: ex.traceparent }, ex.trace_id),
      ex.replay_of ? ` · replay of #${ex.replay_of}` : null,
    ),
  );
  if (ex.error) parts.push(el("p", { class: "error" }, `error: ${ex.error}`));
  parts.push(
    el(
      "div",
      {},
      el("button", { id: "replay", onclick: () => replay(ex.id) }, "Replay"),
      el("span", { id: "replay-result", class: "note" }),
    ),
  );
  parts.push(section(callback ? "The carrier's request" : "The client's request", request(ex.client, "client")));
  const calls = ex.upstream.map((call, i) => upstreamCall(call, i));
  parts.push(
    section(
      `${callback ? "The app's request and answer" : "Upstream calls"} (${ex.upstream.length})`,
      calls.length ? calls : [el("p", { class: "note" }, callback ? "The app was not called." : "No upstream call was made.")],
    ),
  );
  parts.push(section(callback ? "The answer the carrier got" : "The answer the client got", answerView(ex.response)));
  if (!callback) parts.push(section(`Translation trace (${ex.trace.length} steps changed something)`, traceView(ex)));
  return parts;
}

function section(title, children) {
  return el("details", { open: "" }, el("summary", {}, title), el("div", { class: "body" }, ...children));
}

function headersTable(headers) {
  return el("table", { class: "headers" }, ...headers.map(([name, value]) => el("tr", {}, el("td", {}, name), el("td", {}, value))));
}

function bodyView(body) {
  if (!body || body.size === 0) return el("p", { class: "note" }, "no body");
  if (body.text === null) return el("p", { class: "note" }, `${body.size} bytes that are not text`);
  const text = prettyJson(body.text);
  return el("div", {}, el("pre", {}, text), body.cut ? el("p", { class: "note" }, `cut: ${body.size} bytes in all`) : null);
}

function prettyJson(text) {
  const start = text.trimStart()[0];
  if (start !== "{" && start !== "[") return text;
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch (error) {
    return text;
  }
}

function curlButton(curl, name) {
  const shown = el("pre", { class: "curl", hidden: "", "data-curl": name }, curl);
  const button = el(
    "button",
    {
      class: "copy-curl",
      onclick: async () => {
        shown.hidden = false;
        try {
          await navigator.clipboard.writeText(curl);
          button.textContent = "Copied as curl";
        } catch (error) {
          button.textContent = "Copy as curl (select the text below)";
        }
      },
    },
    "Copy as curl",
  );
  return [button, shown];
}

function request(req, name) {
  return [
    el("div", { class: "line" }, `${req.method} ${req.url}`),
    ...curlButton(req.curl, name),
    el("div", { class: "sub" }, "headers"),
    headersTable(req.headers),
    el("div", { class: "sub" }, "body"),
    bodyView(req.body),
  ];
}

function upstreamCall(call, i) {
  const outcome = call.status
    ? el("span", { class: statusClass(call.status) }, call.status)
    : el("span", { class: "error" }, call.error || "no answer");
  return el(
    "div",
    { class: "call" },
    el("div", { class: "line" }, `${call.method} ${call.url} → `, outcome, ` in ${call.latency_ms.toFixed(1)} ms`),
    ...curlButton(call.curl, `upstream-${i}`),
    el("div", { class: "sub" }, "request headers"),
    headersTable(call.headers),
    el("div", { class: "sub" }, "request body"),
    bodyView(call.body),
    call.reply ? el("div", { class: "sub" }, "answer headers") : null,
    call.reply ? headersTable(call.reply.headers) : null,
    call.reply ? el("div", { class: "sub" }, "answer body") : null,
    call.reply ? bodyView(call.reply.body) : null,
  );
}

function answerView(res) {
  return [
    el("div", { class: "line" }, el("span", { class: statusClass(res.status) }, res.status)),
    el("div", { class: "sub" }, "headers"),
    headersTable(res.headers),
    el("div", { class: "sub" }, "body"),
    bodyView(res.body),
  ];
}

const SHOWN = 240; // characters of a value shown in a trace cell; all of it on hover

function value(change, side) {
  if (!(side in change)) return el("span", { class: "absent" }, "(absent)");
  const v = change[side];
  const text = typeof v === "string" && change.cut ? v : JSON.stringify(v);
  if (text.length <= SHOWN) return text;
  return el("span", { title: text }, `${text.slice(0, SHOWN)}…`);
}

function traceView(ex) {
  if (!ex.trace.length) return [el("p", { class: "note" }, "No step changed anything.")];
  const rows = [];
  for (const row of ex.trace) {
    row.changes.forEach((change, i) => {
      const moved = "from" in change;
      rows.push(
        el(
          "tr",
          { class: i === 0 ? "first" : "" },
          el("td", { class: "step" }, i === 0 ? row.step : ""),
          el("td", { class: "op" }, i === 0 ? row.op : ""),
          el("td", { class: "field" }, moved ? `${change.from} → ${change.path}` : change.path),
          el("td", { class: "before" }, moved ? el("span", { class: "absent" }, "(moved)") : value(change, "before")),
          el("td", { class: "after" }, value(change, "after")),
        ),
      );
    });
  }
  const table = el(
    "table",
    { class: "trace" },
    el("thead", {}, el("tr", {}, ...["step", "op", "field", "before", "after"].map((name) => el("th", { class: name }, name)))),
    el("tbody", {}, ...rows),
  );
  const out = [table];
  if (ex.trace_cut) out.push(el("p", { class: "note" }, `${ex.trace_cut} more rows were not kept: the exchange was too large for its share of the history (server.inspector.max_bytes).`));
  if (ex.trace_unseen) out.push(el("p", { class: "note" }, `The trace stopped looking after its first changes; ${ex.trace_unseen} more steps ran.`));
  return out;
}

async function replay(id) {
  const result = $("replay-result");
  result.textContent = " replaying…";
  try {
    const answer = await fetch(`${BASE}/exchanges/${id}/replay`, {
      method: "POST",
      headers: { "X-Dialect-Inspector": "replay" },
    });
    const data = await answer.json();
    if (!answer.ok) throw new Error(data.error || `HTTP ${answer.status}`);
    result.textContent = ` replayed as #${data.id} (${data.status})`;
    if (data.id) {
      for (let i = 0; i < 50 && !exchanges.has(data.id); i += 1) await sleep(100);
      open(data.id);
    }
  } catch (error) {
    result.textContent = ` replay failed: ${error.message}`;
  }
}

$("route-filter").addEventListener("change", () => render());
$("status-filter").addEventListener("change", () => render());
poll();
