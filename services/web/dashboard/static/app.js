// Weir dashboard: calls weir.v1.QueryService over the Connect protocol (POST JSON).
"use strict";

const $ = (sel) => document.querySelector(sel);
const state = { app: "", tables: [], cursor: "", token: localStorage.getItem("weir-token") || "" };

async function call(method, body) {
  const headers = { "Content-Type": "application/json" };
  if (state.token) headers["Authorization"] = "Bearer " + state.token;
  const resp = await fetch("/weir.v1.QueryService/" + method, { method: "POST", headers, body: JSON.stringify(body || {}) });
  const data = await resp.json().catch(() => ({}));
  if (!resp.ok) {
    if (data.code === "unauthenticated") $("#auth").classList.remove("hidden");
    const err = new Error((data.code || resp.status) + ": " + (data.message || resp.statusText));
    err.code = data.code;
    throw err;
  }
  return data;
}

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v; else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(c == null ? "" : String(c)));
  return e;
}

function fill(tbody, rows) { tbody.replaceChildren(...rows); }
function showError(err) {
  const box = $("#error");
  if (!err) { box.classList.add("hidden"); return; }
  box.textContent = String(err.message || err);
  box.classList.remove("hidden");
}
const num = (v) => (v === undefined || v === null ? 0 : Number(v));
const json = (v) => (v === undefined ? "" : JSON.stringify(v));
const ms = (v) => new Date(num(v)).toISOString().replace(".000Z", "Z");

// --- cluster -----------------------------------------------------------------------------

async function refreshCluster() {
  const h = await call("ClusterHealth");
  const badge = $("#health");
  badge.textContent = h.healthy ? "healthy" : "degraded";
  badge.className = "badge " + (h.healthy ? "ok" : "bad");
  $("#leader").textContent = h.leader ? "leader: " + h.leader : "no leader";
  fill($("#problems"), (h.problems || []).map((p) => el("li", {}, p)));
  fill($("#controllers tbody"), (h.controllers || []).map((c) =>
    el("tr", {}, el("td", {}, c.id), el("td", {}, c.addr), el("td", {}, c.version),
      el("td", {}, el("span", { class: "pill " + (c.leader ? "ok" : "warn") }, c.leader ? "leader" : "follower")))));
  const workers = h.workers || [];
  fill($("#workers tbody"), workers.map((w) =>
    el("tr", { "data-worker": w.id }, el("td", {}, w.id), el("td", {}, w.addr), el("td", {}, w.version),
      el("td", {}, el("span", { class: "pill " + (w.reachable ? (w.draining ? "warn" : "ok") : "bad"), title: w.error || "" },
        w.reachable ? (w.draining ? "draining" : "alive") : "unreachable")),
      el("td", { class: "num" }, w.activeTasks || 0), el("td", { class: "num" }, w.standbyTasks || 0))));
  const rows = [];
  for (const w of workers) {
    for (const t of w.tasks || []) {
      const r = t.restore;
      let recovery = "";
      if (r && num(r.target) > 0 && num(r.remaining) > 0) {
        const done = Math.max(0, Math.min(1, 1 - num(r.remaining) / Math.max(1, num(r.target) - num(r.position) + num(r.remaining))));
        recovery = el("span", {}, el("span", { class: "bar" }, el("span", { style: "width:" + Math.round(done * 100) + "%" })),
          " " + num(r.remaining) + " left, ETA " + (r.etaSeconds ? Number(r.etaSeconds).toFixed(1) + " s" : "?"));
      } else if (t.stalled) {
        recovery = el("span", { class: "pill bad" }, "stalled: " + t.stalled);
      }
      rows.push(el("tr", {}, el("td", {}, `${t.app}/${t.group}/${t.partition || 0}`), el("td", {}, w.id),
        el("td", {}, t.role), el("td", {}, t.state), el("td", { class: "num" }, t.epoch || 0),
        el("td", { class: "num" }, t.lag || 0), el("td", { class: "num" }, num(t.recordsPerSecond).toFixed(1)),
        el("td", {}, recovery)));
    }
  }
  fill($("#tasks tbody"), rows);
}

// --- apps --------------------------------------------------------------------------------

async function refreshApps() {
  const { apps = [] } = await call("ListApps");
  const sel = $("#app-select");
  const names = apps.map((a) => a.name);
  if (sel.options.length !== names.length || [...sel.options].some((o, i) => o.value !== names[i])) {
    sel.replaceChildren(...apps.map((a) => el("option", { value: a.name }, `${a.name} (v${a.version})`)));
    if (names.includes(state.app)) sel.value = state.app;
  }
  if (!names.length) { $("#app-summary").textContent = "no apps yet: controller apply app.hcl"; return; }
  if (state.app !== sel.value) { state.app = sel.value; await describeApp(); }
  await refreshAssignment();
}

async function describeApp() {
  const d = await call("DescribeApp", { app: state.app });
  const a = d.app || {};
  $("#app-summary").textContent = `version ${a.version}, ${a.tasks || 0} tasks` + (a.description ? " — " + a.description : "");
  drawTopology(d.nodes || [], d.edges || []);
  state.tables = d.tables || [];
  fill($("#app-tables tbody"), state.tables.map((t) =>
    el("tr", {}, el("td", {}, t.name), el("td", {}, t.keyType), el("td", {}, t.valueType),
      el("td", {}, t.global ? "global" : t.window || "keyed"), el("td", {}, t.group ? `${t.group} (${t.partitions} partitions)` : ""))));
  fill($("#history tbody"), (d.history || []).slice().reverse().map((v) =>
    el("tr", {}, el("td", { class: "num" }, v.version), el("td", {}, v.createdAt || ""), el("td", {}, v.origin || ""),
      el("td", {}, v.author || ""), el("td", {}, (v.digest || "").slice(0, 12)))));
  $("#definition").textContent = d.normalizedJson || "";
  const ts = $("#table-select");
  ts.replaceChildren(...state.tables.map((t) => el("option", { value: t.name }, t.name)));
  onTableChange();
}

function drawTopology(nodes, edges) {
  const box = $("#topology");
  if (!nodes.length) { box.textContent = "no topics, agents or tables"; return; }
  const written = new Set(edges.filter((e) => e.to.startsWith("topic:") && !e.from.startsWith("topic:")).map((e) => e.to));
  const col = (n) => n.kind === "agent" ? 1 : n.kind === "table" ? 2 : written.has(n.id) ? 3 : 0;
  const cols = [[], [], [], []];
  for (const n of nodes) cols[col(n)].push(n);
  const W = 200, H = 44, GX = 90, GY = 16, pos = {};
  cols.forEach((c, i) => c.forEach((n, j) => { pos[n.id] = { x: 10 + i * (W + GX), y: 10 + j * (H + GY) }; }));
  const height = 20 + Math.max(...cols.map((c) => c.length)) * (H + GY);
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", `0 0 ${4 * W + 3 * GX + 20} ${height}`);
  svg.setAttribute("height", String(height));
  const mk = (tag, attrs, text) => {
    const e = document.createElementNS(ns, tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
    if (text !== undefined) e.textContent = text;
    return e;
  };
  for (const e of edges) {
    const a = pos[e.from], b = pos[e.to];
    if (!a || !b) continue;
    const forward = b.x > a.x;
    const x1 = forward ? a.x + W : a.x, y1 = a.y + H / 2, x2 = forward ? b.x : b.x + W, y2 = b.y + H / 2;
    const dx = forward ? GX / 2 : -GX / 2;
    svg.append(mk("path", { d: `M${x1},${y1} C${x1 + dx},${y1} ${x2 - dx},${y2} ${x2},${y2}` }));
    if (e.label) svg.append(mk("text", { x: (x1 + x2) / 2, y: (y1 + y2) / 2 - 3, "text-anchor": "middle", class: "label" }, e.label));
  }
  for (const n of nodes) {
    const p = pos[n.id];
    const g = mk("g", { class: "node " + n.kind, transform: `translate(${p.x},${p.y})` });
    g.append(mk("rect", { width: W, height: H, rx: 6 }), mk("text", { x: 8, y: 18 }, `${n.kind} ${n.name}`));
    if (n.detail) g.append(mk("text", { x: 8, y: 35, class: "detail" }, n.detail));
    svg.append(g);
  }
  box.replaceChildren(svg);
}

async function refreshAssignment() {
  if (!state.app) return;
  const { tasks = [] } = await call("GetAssignment", { app: state.app });
  const workers = [...new Set(tasks.flatMap((t) => [t.active, ...(t.standbys || []), ...(t.warmups || [])]).filter(Boolean))].sort();
  const head = el("tr", {}, el("th", {}, "task"), ...workers.map((w) => el("th", {}, w)), el("th", {}, "epoch"), el("th", {}, "state"));
  const rows = tasks.map((t) => el("tr", { "data-task": `${t.group}/${t.partition || 0}` },
    el("th", {}, `${t.group}/${t.partition || 0}`),
    ...workers.map((w) => {
      const role = t.active === w ? "A" : (t.standbys || []).includes(w) ? "S" : (t.warmups || []).includes(w) ? "W" : "";
      return el("td", { class: role }, role);
    }),
    el("td", { class: "num" }, t.epoch || 0), el("td", {}, t.state || "")));
  const table = el("table", { class: "assign" }, el("thead", {}, head), el("tbody", {}, ...rows));
  $("#assignment").replaceChildren(tasks.length ? table : document.createTextNode("no tasks assigned"));
}

// --- table browser -----------------------------------------------------------------------

function currentTable() { return state.tables.find((t) => t.name === $("#table-select").value); }
function onTableChange() {
  const t = currentTable();
  $("#window-range").classList.toggle("hidden", !(t && t.window));
  $("#lookup-result").textContent = "";
  fill($("#scan-result tbody"), []);
  $("#next").classList.add("hidden");
}

function readInfo(r) {
  if (!r) return "";
  return `served by ${r.worker} as ${r.role}` + (r.group ? ` (partition ${r.partition || 0}, epoch ${r.epoch || 0}` + (r.role !== "active" ? `, lag ${r.lag || 0}` : "") + ")" : "");
}

async function lookup() {
  const t = currentTable();
  if (!t) return;
  const req = { app: state.app, table: t.name, key: $("#key").value, allowStale: $("#stale").checked };
  if (t.window) {
    if ($("#from").value) req.fromMs = String(new Date($("#from").value).getTime());
    if ($("#to").value) req.toMs = String(new Date($("#to").value).getTime());
  }
  const out = $("#lookup-result");
  out.textContent = "…";
  try {
    const r = await call("GetTableValue", req);
    let text;
    if (r.windowed) {
      text = (r.windows || []).map((w) => `[${ms(w.startMs)} – ${ms(w.endMs)})  ${json(w.value)}`).join("\n") || "no windows";
    } else {
      text = r.found ? (r.value !== undefined ? json(r.value) : "(bytes) " + r.raw) : "not found";
    }
    out.textContent = text + "\n" + readInfo(r.read) + (r.attempts > 1 ? `, after ${r.attempts} tries` : "");
    out.dataset.value = r.found ? json(r.value) : "";
  } catch (err) {
    out.textContent = String(err.message);
  }
}

async function scan(more) {
  const t = currentTable();
  if (!t) return;
  if (!more) state.cursor = "";
  const r = await call("ScanTable", { app: state.app, table: t.name, prefix: $("#prefix").value,
    limit: Number($("#limit").value) || 20, cursor: state.cursor, allowStale: $("#stale").checked });
  const rows = (r.entries || []).map((e) => el("tr", {}, el("td", {}, json(e.key)),
    el("td", {}, e.windowed ? `[${ms(e.windowStartMs)} – ${ms(e.windowEndMs)})` : ""),
    el("td", {}, e.value !== undefined ? json(e.value) : "(bytes)"), el("td", { class: "num" }, e.partition || 0)));
  if (more) $("#scan-result tbody").append(...rows); else fill($("#scan-result tbody"), rows);
  state.cursor = r.nextCursor || "";
  $("#next").classList.toggle("hidden", !state.cursor);
}

// --- wiring ------------------------------------------------------------------------------

async function refresh() {
  try {
    await refreshCluster();
    await refreshApps();
    $("#updated").textContent = "updated " + new Date().toLocaleTimeString();
    showError(null);
  } catch (err) {
    showError(err);
  }
}

$("#app-select").addEventListener("change", async () => { state.app = $("#app-select").value; await describeApp().catch(showError); await refreshAssignment().catch(showError); });
$("#table-select").addEventListener("change", onTableChange);
$("#lookup").addEventListener("click", lookup);
$("#key").addEventListener("keydown", (e) => { if (e.key === "Enter") lookup(); });
$("#scan").addEventListener("click", () => scan(false).catch(showError));
$("#next").addEventListener("click", () => scan(true).catch(showError));
$("#save-token").addEventListener("click", () => {
  state.token = $("#token").value;
  localStorage.setItem("weir-token", state.token);
  $("#auth").classList.add("hidden");
  refresh();
});
setInterval(() => { if ($("#auto").checked && !document.hidden) refresh(); }, 2000);
refresh();
