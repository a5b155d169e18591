// flopgrid dashboard: edits key assumptions, asks the API to simulate, draws the returned figures.
// The server builds every figure (flopgrid.charts); this file only wires inputs to requests and
// hands figures to Plotly.react, so the dashboard and the standalone report always draw the same.
"use strict";

const CHARTS = ["compute", "power_source", "power_region", "energy", "capex", "opex",
                "bottlenecks", "cash", "fan", "shadow_prices"];
const FIELDS = ["budget", "fabs", "campus_gw", "chip", "power_mix", "regions", "start", "end"];
const PLOT_CONFIG = { responsive: true, displaylogo: false };

const state = {
  scenario: "seed-7t",   // a shipped name, or null when an upload is in use
  yaml: null,            // the uploaded YAML text
  base: null,            // the scenario's own assumptions (from the server)
  edits: {},             // assumptions the user changed
  samples: 1,
  seed: 0,
  choices: { chip: [], power_mix: [], regions: [] },
  runs: 0,
};
let activeJob = null;

const $ = (id) => document.getElementById(id);

function token() {
  const fromUrl = new URLSearchParams(location.search).get("token");
  if (fromUrl) sessionStorage.setItem("flopgrid-token", fromUrl);
  return sessionStorage.getItem("flopgrid-token");
}

async function api(path, options = {}) {
  const headers = Object.assign({ "Content-Type": "application/json" }, options.headers || {});
  const t = token();
  if (t) headers["Authorization"] = "Bearer " + t;
  const response = await fetch(path, Object.assign({}, options, { headers }));
  const type = response.headers.get("content-type") || "";
  const body = type.includes("json") ? await response.json() : await response.blob();
  return { ok: response.ok, status: response.status, body };
}

function status(text) { $("status").textContent = text; }

// ------------------------------------------------------------------------------------- errors

function clearErrors() {
  for (const el of document.querySelectorAll(".error")) el.textContent = "";
  for (const el of document.querySelectorAll(".field.invalid")) el.classList.remove("invalid");
}

function showErrors(detail, fallback = "err-scenario") {
  if (typeof detail === "string") { $(fallback).textContent = detail; return; }
  for (const error of detail || []) {
    const loc = error.loc || [];
    let target = fallback;
    const i = loc.indexOf("assumptions");
    if (i >= 0 && FIELDS.includes(loc[i + 1])) target = "err-" + loc[i + 1];
    else if (loc.includes("samples")) target = "err-samples";
    let text = error.msg;
    if (error.field) text = error.field + ": " + text;
    if (error.line) text = "line " + error.line + ": " + text;
    const el = $(target);
    el.textContent = el.textContent ? el.textContent + " " + text : text;
    const field = el.closest(".field");
    if (field) field.classList.add("invalid");
  }
}

// --------------------------------------------------------------------------------- assumptions

function shareInputs(container, names, values, field) {
  container.innerHTML = "";
  for (const name of names) {
    const label = document.createElement("label");
    label.textContent = name;
    label.htmlFor = field + "-" + name;
    const input = document.createElement("input");
    input.type = "number"; input.min = "0"; input.max = "1"; input.step = "0.05";
    input.id = field + "-" + name;
    input.dataset.name = name;
    input.value = values && values[name] !== undefined ? +values[name].toFixed(4) : 0;
    input.addEventListener("input", () => { edit(field, readShares(container)); });
    container.append(label, input);
  }
}

function readShares(container) {
  const out = {};
  for (const input of container.querySelectorAll("input")) {
    const v = parseFloat(input.value);
    if (v > 0) out[input.dataset.name] = v;
  }
  return out;
}

function fillForm() {
  const a = Object.assign({}, state.base, state.edits);
  for (const name of ["budget", "fabs", "campus_gw", "start", "end"]) {
    const value = a[name];
    $(name).value = value === null || value === undefined ? "" : +(+value).toFixed(3);
    const range = $(name + "-range");
    if (range) range.value = value ?? 0;
  }
  const chip = $("chip");
  chip.innerHTML = "";
  for (const name of state.choices.chip) chip.add(new Option(name, name, false, name === a.chip));
  const sources = state.choices.power_mix;
  shareInputs($("power_mix"), sources, a.power_mix || {}, "power_mix");
  for (const input of $("power_mix").querySelectorAll("input")) input.disabled = !a.power_mix;
  shareInputs($("regions"), state.choices.regions, a.regions || {}, "regions");
  $("regions-on").checked = !!a.regions;
  for (const input of $("regions").querySelectorAll("input")) input.disabled = !a.regions;
  $("samples").value = state.samples;
  $("seed").value = state.seed;
}

function edit(field, value) {
  state.edits[field] = value;
  schedule();
}

function bindNumber(name, integer) {
  const read = (el) => (integer ? parseInt(el.value, 10) : parseFloat(el.value));
  $(name).addEventListener("input", () => {
    const v = read($(name));
    if (Number.isFinite(v)) { const r = $(name + "-range"); if (r) r.value = v; edit(name, v); }
  });
  const range = $(name + "-range");
  if (range) range.addEventListener("input", () => {
    const v = read(range);
    $(name).value = v;
    edit(name, v);
  });
}

// ------------------------------------------------------------------------------------ requests

function scenarioPart() {
  const part = state.yaml !== null ? { yaml: state.yaml } : { scenario: state.scenario };
  if (Object.keys(state.edits).length) part.assumptions = Object.assign({}, state.edits);
  return part;
}

// One request in flight per page: an edit while idle runs at once; edits while busy are folded into
// one more run when the current one returns (a dragged slider never queues a run per pixel).
let busy = false;
let again = false;

function schedule() {
  if (!state.editedAt) state.editedAt = performance.now();
  if (busy) { again = true; return; }
  run();
}

// Charts in view are redrawn at once; the others one per animation frame after, so what the user
// sees follows a slider without waiting for charts scrolled out of sight. (Each Plotly redraw costs
// 20–80 ms in a CPU-only browser, about half of it the legend.)
const inView = new Set();
const observer = new IntersectionObserver((entries) => {
  for (const entry of entries) {
    // "In view" is at least half shown: a chart peeking in at the bottom is drawn a frame later.
    if (entry.intersectionRatio >= 0.5) inView.add(entry.target.id); else inView.delete(entry.target.id);
  }
}, { threshold: [0, 0.5, 1] });
let drawToken = 0;

function drawOne(name, figure) {
  const div = $("chart-" + name);
  div.hidden = false;
  Plotly.react(div, figure.data, figure.layout, PLOT_CONFIG);
  div.dataset.revision = String(state.runs);
}

function draw(figures, started) {
  const token = ++drawToken;
  const later = [];
  for (const name of CHARTS) {
    const figure = figures[name];
    if (!figure) { if (name === "shadow_prices") $("chart-" + name).hidden = true; continue; }
    if (inView.has("chart-" + name)) drawOne(name, figure); else later.push(name);
  }
  document.body.dataset.lastUpdateMs = (performance.now() - started).toFixed(1);
  const next = () => {
    if (token !== drawToken) return;  // a newer run supersedes this one
    const name = later.shift();
    if (name === undefined) {
      document.body.dataset.allDrawnMs = (performance.now() - started).toFixed(1);
      document.body.dataset.drawn = String(state.runs);
      return;
    }
    drawOne(name, figures[name]);
    requestAnimationFrame(next);
  };
  requestAnimationFrame(next);
}

function showTotals(totals) {
  const t = (k) => (totals[k] ? totals[k].value : NaN);
  const fmt = (v, d = 3) => (Number.isFinite(v) ? Number(v.toPrecision(d)).toLocaleString("en") : "–");
  $("totals").textContent =
    `End of horizon: ${fmt(t("h100e_end") / 1e6)} M H100e, ${fmt(t("facility_power_end") / 1e9)} GW; ` +
    `capex ${fmt(t("capex") / 1e9)} B USD; funding gap ${fmt(t("funding_gap") / 1e9)} B USD; ` +
    `first bottleneck ${totals.first_bottleneck ? totals.first_bottleneck.value : "–"}.`;
}

async function run() {
  busy = true;
  again = false;
  const started = state.editedAt || performance.now();
  state.editedAt = null;
  const body = Object.assign(scenarioPart(), { samples: state.samples, seed: state.seed, charts: true });
  let result;
  try {
    result = await api("/api/simulate", { method: "POST", body: JSON.stringify(body) });
  } catch (e) {
    status("request failed: " + e);
    result = null;
  }
  if (result) show(result, started);
  busy = false;
  if (again) run();
}

function show(result, started) {
  clearErrors();
  if (!result.ok) {
    showErrors(result.body.detail);
    status(`not run: fix the highlighted field (HTTP ${result.status})`);
    document.body.dataset.state = "invalid";
    return;
  }
  state.runs += 1;
  draw(result.body.charts, started);
  showTotals(result.body.totals);
  const ms = performance.now() - started;
  document.body.dataset.runs = String(state.runs);
  document.body.dataset.state = "ok";
  status(`${result.body.scenario}: ${result.body.samples} sample(s), server ${result.body.elapsed_ms.toFixed(0)} ms, ` +
         `charts updated in ${ms.toFixed(0)} ms after the edit · run store: ${result.body.recorded}`);
}

async function loadScenario(name) {
  const result = await api("/api/scenarios/" + encodeURIComponent(name));
  if (!result.ok) { showErrors(result.body.detail); return false; }
  adopt(result.body);
  state.scenario = name;
  state.yaml = null;
  return true;
}

function adopt(described) {
  state.base = described.assumptions;
  state.choices = described.choices;
  $("scenario-description").textContent = described.description || described.name;
}

async function upload(file) {
  const text = await file.text();
  clearErrors();
  const result = await api("/api/validate", { method: "POST", body: JSON.stringify({ yaml: text }) });
  if (!result.ok) {
    showErrors(result.body.detail);
    status(`${file.name} is not a valid scenario`);
    return;
  }
  state.yaml = text; state.scenario = null; state.edits = {};
  adopt(result.body);
  const select = $("scenario-select");
  select.add(new Option(`${result.body.name} (uploaded)`, "__upload__", true, true));
  fillForm();
  schedule();
}

// ----------------------------------------------------------------------------------- permalink

function b64url(bytes) {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function unb64url(text) {
  const s = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
  return Uint8Array.from(s, (c) => c.charCodeAt(0));
}

async function pipe(bytes, stream) {
  const out = new Response(new Blob([bytes]).stream().pipeThrough(stream));
  return new Uint8Array(await out.arrayBuffer());
}

async function permalink() {
  const payload = { v: 1, s: state.scenario, y: state.yaml, a: state.edits, n: state.samples, seed: state.seed };
  const bytes = new TextEncoder().encode(JSON.stringify(payload));
  const packed = await pipe(bytes, new CompressionStream("deflate-raw"));
  const url = location.origin + location.pathname + "#p=" + b64url(packed);
  history.replaceState(null, "", url);
  try { await navigator.clipboard.writeText(url); } catch (e) { /* the address bar has it anyway */ }
  status("permalink in the address bar");
  return url;
}

async function fromPermalink() {
  const match = location.hash.match(/^#p=([A-Za-z0-9_-]+)$/);
  if (!match) return false;
  try {
    const bytes = await pipe(unb64url(match[1]), new DecompressionStream("deflate-raw"));
    const payload = JSON.parse(new TextDecoder().decode(bytes));
    state.samples = payload.n || 1;
    state.seed = payload.seed || 0;
    if (payload.y) {
      const result = await api("/api/validate", { method: "POST", body: JSON.stringify({ yaml: payload.y }) });
      if (!result.ok) { showErrors(result.body.detail); return true; }
      state.yaml = payload.y; state.scenario = null;
      adopt(result.body);
      $("scenario-select").add(new Option(`${result.body.name} (from link)`, "__upload__", true, true));
    } else {
      await loadScenario(payload.s || "seed-7t");
      $("scenario-select").value = state.scenario;
    }
    state.edits = payload.a || {};
    return true;
  } catch (e) {
    $("err-scenario").textContent = "this permalink is damaged: " + e;
    return false;
  }
}

// -------------------------------------------------------------------------------------- compare

function compareSlots(names) {
  const slots = $("compare-slots");
  slots.innerHTML = "";
  const defaults = ["__current__", names.find((n) => n !== state.scenario) || names[0], "", ""];
  for (let i = 0; i < 4; i++) {
    const select = document.createElement("select");
    select.id = "compare-" + i;
    select.setAttribute("aria-label", "scenario " + (i + 1));
    select.add(new Option(i < 2 ? "(choose)" : "(none)", ""));
    select.add(new Option("current edit", "__current__"));
    for (const n of names) select.add(new Option(n, n));
    select.value = defaults[i];
    slots.append(select);
  }
}

async function compare() {
  clearErrors();
  const items = [];
  for (let i = 0; i < 4; i++) {
    const v = $("compare-" + i).value;
    if (!v) continue;
    if (v === "__current__") items.push(Object.assign(scenarioPart(), { label: "current edit" }));
    else items.push({ scenario: v, label: v });
  }
  const result = await api("/api/compare", { method: "POST", body: JSON.stringify({ scenarios: items }) });
  if (!result.ok) { showErrors(result.body.detail, "err-compare"); return; }
  const container = $("compare-charts");
  container.innerHTML = "";
  for (const [key, figure] of Object.entries(result.body.charts)) {
    const div = document.createElement("div");
    div.className = "chart";
    div.id = "compare-chart-" + key;
    container.append(div);
    Plotly.react(div, figure.data, figure.layout, PLOT_CONFIG);
  }
  const rows = [["h100e_end", "H100e at end", 1e6, "M"], ["facility_power_end", "Facility power at end", 1e9, "GW"],
                ["energy", "Energy", 1e12, "TWh"], ["capex", "Capex", 1e9, "B USD"],
                ["funding_gap", "Funding gap", 1e9, "B USD"], ["npv", "NPV", 1e9, "B USD"]];
  const labels = result.body.labels;
  let html = "<tr><th>figure</th>" + labels.map((l) => `<th>${escapeHtml(l)}</th>`).join("") + "</tr>";
  for (const [key, name, scale, unit] of rows) {
    html += `<tr><td>${name} [${unit}]</td>` + labels.map((l) => {
      const v = result.body.totals[l][key].value;
      return `<td>${v === null ? "–" : Number((v / scale).toPrecision(4)).toLocaleString("en")}</td>`;
    }).join("") + "</tr>";
  }
  $("compare-table").innerHTML = html;
  document.body.dataset.compared = labels.join("|");
}

function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
}

// ------------------------------------------------------------------------------------------ jobs

async function startJob(kind) {
  clearErrors();
  const body = Object.assign(scenarioPart(), { kind, seed: state.seed });
  if (kind === "montecarlo") body.samples = parseInt($("job-samples").value, 10) || 2;
  const result = await api("/api/jobs", { method: "POST", body: JSON.stringify(body) });
  if (!result.ok) { showErrors(result.body.detail, "err-job"); return; }
  activeJob = result.body.id;
  $("job-progress").hidden = false;
  $("job-cancel").hidden = false;
  pollJob();
}

async function pollJob() {
  if (!activeJob) return;
  const result = await api("/api/jobs/" + activeJob);
  if (!result.ok) { $("err-job").textContent = result.body.detail; return; }
  const job = result.body;
  $("job-status").textContent = `${job.description}: ${job.status} — ${job.message}`;
  $("job-progress").value = job.progress;
  if (job.status === "queued" || job.status === "running") { setTimeout(pollJob, 400); return; }
  $("job-cancel").hidden = true;
  if (job.status === "done") {
    const figures = await api(`/api/jobs/${job.id}/charts`);
    if (figures.ok) {
      for (const [name, figure] of Object.entries(figures.body.charts)) {
        if (["fan", "shadow_prices"].includes(name)) {
          const div = $("chart-" + name);
          div.hidden = false;
          Plotly.react(div, figure.data, figure.layout, PLOT_CONFIG);
        }
      }
    }
  } else if (job.error) {
    $("err-job").textContent = job.error.msg;
  }
  activeJob = null;
}

// -------------------------------------------------------------------------------------- startup

async function download(format) {
  const body = Object.assign(scenarioPart(), { samples: state.samples, seed: state.seed });
  const result = await api("/api/simulate/download?format=" + format, { method: "POST", body: JSON.stringify(body) });
  if (!result.ok) { showErrors(result.body.detail); return; }
  const a = document.createElement("a");
  a.href = URL.createObjectURL(result.body);
  a.download = `flopgrid-results.${format}`;
  a.click();
}

async function start() {
  for (const div of document.querySelectorAll("#charts .chart")) observer.observe(div);
  const health = await api("/api/health");
  if (!health.ok) { status(health.status === 401 ? "this server needs ?token=… in the address" : "API unavailable"); return; }
  $("job-plan").disabled = !health.body.capabilities.planner;
  if (!health.body.capabilities.planner) $("job-plan").title = "the planner is not installed in this flopgrid";
  $("samples").max = health.body.limits.max_sync_samples;
  const list = await api("/api/scenarios");
  const names = list.body.map((s) => s.name);
  const select = $("scenario-select");
  for (const s of list.body) select.add(new Option(s.name, s.name));
  if (!(await fromPermalink())) await loadScenario(state.scenario);
  select.value = state.yaml !== null ? "__upload__" : state.scenario;
  compareSlots(names);
  fillForm();

  select.addEventListener("change", async () => {
    if (select.value === "__upload__") return;
    state.edits = {};
    clearErrors();
    if (await loadScenario(select.value)) { fillForm(); schedule(); }
  });
  $("scenario-upload").addEventListener("change", (e) => { if (e.target.files[0]) upload(e.target.files[0]); });
  bindNumber("budget", false);
  bindNumber("fabs", true);
  bindNumber("campus_gw", false);
  bindNumber("start", true);
  bindNumber("end", true);
  $("chip").addEventListener("change", () => edit("chip", $("chip").value));
  $("regions-on").addEventListener("change", () => {
    const on = $("regions-on").checked;
    for (const input of $("regions").querySelectorAll("input")) input.disabled = !on;
    if (on) edit("regions", readShares($("regions")));
    else { delete state.edits.regions; schedule(); }
  });
  $("samples").addEventListener("input", () => {
    const v = parseInt($("samples").value, 10);
    if (v >= 1) { state.samples = v; schedule(); }
  });
  $("seed").addEventListener("input", () => {
    const v = parseInt($("seed").value, 10);
    if (v >= 0) { state.seed = v; schedule(); }
  });
  $("reset").addEventListener("click", () => { state.edits = {}; fillForm(); clearErrors(); schedule(); });
  $("permalink").addEventListener("click", permalink);
  $("compare-run").addEventListener("click", compare);
  $("job-montecarlo").addEventListener("click", () => startJob("montecarlo"));
  $("job-plan").addEventListener("click", () => startJob("plan"));
  $("job-cancel").addEventListener("click", async () => { if (activeJob) await api("/api/jobs/" + activeJob, { method: "DELETE" }); });
  $("download-csv").addEventListener("click", () => download("csv"));
  $("download-parquet").addEventListener("click", () => download("parquet"));
  window.addEventListener("hashchange", async () => { if (await fromPermalink()) { fillForm(); schedule(); } });
  schedule();
}

start();
