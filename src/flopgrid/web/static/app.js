// flopgrid dashboard: edits key assumptions, asks the API to simulate, draws the returned figures.
// The server builds every figure (flopgrid.charts) and the headline cards (flopgrid.web.views); these
// modules only wire inputs to requests and hand figures to Plotly.react, so the dashboard and the
// standalone report always draw the same.
//   api.js      requests, shared state, formatting
//   view.js     the main area: charts, which run is shown, the stale mark
//   answers.js  headline cards, the probability box, distributions
//   jobs.js     background jobs, the plan panel, sensitivity and sweeps, the runs list
//   atlas.js    the atlas panel: pipeline chart, map and the assets with their sources

import { $, api, escapeHtml, plot, recordPart, scenarioPart, state, status } from "./api.js";
import { ask, askUnit, drawDistribution, fillFigureChoices } from "./answers.js";
import { loadAtlas } from "./atlas.js";
import { cancelJob, loadRuns, resetJobs, startJob } from "./jobs.js";
import { observer, setStale, showView } from "./view.js";

const FIELDS = ["budget", "fabs", "campus_gw", "chip", "power_mix", "regions", "start", "end"];

// ------------------------------------------------------------------------------------- errors

function clearErrors() {
  for (const el of document.querySelectorAll(".error:not(.persistent)")) el.textContent = "";
  for (const el of document.querySelectorAll(".field.invalid")) el.classList.remove("invalid");
}

// The element an error belongs at: the assumption it names, else the request field, else `fallback`.
function errorTarget(loc, fallback) {
  const i = loc.indexOf("assumptions");
  if (i >= 0 && FIELDS.includes(loc[i + 1])) return "err-" + loc[i + 1];
  if (loc.includes("samples") && fallback === "err-scenario") return "err-samples";
  if (loc[0] === "horizon" || (loc[0] === "body" && loc[1] === "horizon")) return "err-start";
  return fallback;
}

function showErrors(detail, fallback = "err-scenario") {
  if (typeof detail === "string") { $(fallback).textContent = detail; return; }
  for (const error of detail || []) {
    const target = errorTarget(error.loc || [], fallback);
    let text = error.msg;
    if (error.field) text = error.field + ": " + text;
    if (error.line) text = "line " + error.line + ": " + text;
    const el = $(target);
    el.textContent = el.textContent ? el.textContent + " " + text : text;
    const field = el.closest(".field");
    if (field) field.classList.add("invalid");
    // The years share one field: outline only the year the error is about.
    if (target === "err-start" || target === "err-end") $(target.slice(4)).classList.add("bad");
  }
}

// --------------------------------------------------------------------------------- assumptions

// Shares of a power mix or a regional split add up to 1: editing one rescales the others in
// proportion (when all others are 0, the rest is spread evenly), so every edit is a valid mix.
function rebalance(container, edited) {
  const inputs = [...container.querySelectorAll("input")];
  const v = Math.min(1, Math.max(0, parseFloat(edited.value) || 0));
  const others = inputs.filter((i) => i !== edited);
  const rest = others.reduce((s, i) => s + (parseFloat(i.value) || 0), 0);
  const shares = {};
  for (const input of others) {
    const old = parseFloat(input.value) || 0;
    const share = rest > 0 ? old * (1 - v) / rest : (1 - v) / others.length;
    shares[input.dataset.name] = share;
    input.value = +share.toFixed(4);
  }
  shares[edited.dataset.name] = v;
  const out = {};
  for (const [name, share] of Object.entries(shares)) if (share > 0) out[name] = share;
  return out;
}

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
    input.addEventListener("change", () => { edit(field, rebalance(container, input)); });
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

// The chip list: the scenario's own chip is shown (a campus's or a purchase's Rubin, say), never the
// first of the library's list; a scenario with several is "its own mix" until one is picked.
function fillChips(a) {
  const chip = $("chip");
  chip.innerHTML = "";
  const own = state.chipsInUse;
  if (!a.chip) {
    const text = own.length ? `scenario's own: ${own.join(", ")}` : "scenario's own (library mix)";
    chip.add(new Option(text, "", false, true));
  }
  for (const name of state.choices.chip) chip.add(new Option(name, name, false, name === a.chip));
}

function fillForm() {
  const a = Object.assign({}, state.base, state.edits);
  for (const name of ["budget", "fabs", "campus_gw", "start", "end"]) {
    const value = a[name];
    $(name).value = value === null || value === undefined ? "" : +(+value).toFixed(3);
    const range = $(name + "-range");
    if (range) range.value = value ?? 0;
  }
  fillChips(a);
  shareInputs($("power_mix"), state.choices.power_mix, a.power_mix || {}, "power_mix");
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
    else invalidLocally(name, "enter a number");
  });
  const range = $(name + "-range");
  if (range) range.addEventListener("input", () => {
    const v = read(range);
    $(name).value = v;
    edit(name, v);
  });
}

// A field the page itself cannot read (empty, not a number): shown at the field, charts marked stale.
function invalidLocally(name, message) {
  clearErrors();
  showErrors([{ loc: ["body", "assumptions", name], msg: message }]);
  setStale(true);
  document.body.dataset.state = "invalid";
}

// ------------------------------------------------------------------------------------ requests

// One request in flight per page: an edit while idle runs at once; edits while busy are folded into
// one more run when the current one returns (a dragged slider never queues a run per pixel).
let busy = false;
let again = false;

function schedule() {
  if (!state.editedAt) state.editedAt = performance.now();
  if (busy) { again = true; return; }
  run();
}

async function run() {
  busy = true;
  again = false;
  const started = state.editedAt || performance.now();
  state.editedAt = null;
  const body = Object.assign(scenarioPart(), { samples: state.samples, seed: state.seed, charts: true }, recordPart());
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
  for (const el of document.querySelectorAll("input.bad")) el.classList.remove("bad");
  if (!result.ok) {
    showErrors(result.body.detail);
    setStale(true);
    status(`not run: fix the highlighted field (HTTP ${result.status}); the charts show the last valid run`);
    document.body.dataset.state = "invalid";
    return;
  }
  state.runs += 1;
  const b = result.body;
  $("plan-panel").hidden = true;
  showView(b, { source: "live", samples: b.samples,
                label: `Showing the live run of ${b.scenario} (${b.samples.toLocaleString("en")} sample${b.samples > 1 ? "s" : ""}).` }, started);
  const ms = performance.now() - started;
  document.body.dataset.runs = String(state.runs);
  document.body.dataset.state = "ok";
  status(`${b.scenario}: ${b.samples} sample(s), server ${b.elapsed_ms.toFixed(0)} ms, ` +
         `charts updated in ${ms.toFixed(0)} ms after the edit · run store: ${b.recorded}`);
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
  state.chipsInUse = described.chips_in_use || [];
  state.figures = described.figures || [];
  fillFigureChoices(state.figures);
  $("scenario-description").textContent = described.description || described.name;
}

// After switching or uploading a scenario, nothing on the page may describe the previous one.
function forgetPrevious() {
  resetJobs();
  $("compare-table").innerHTML = "";
  $("compare-charts").innerHTML = "";
  delete document.body.dataset.compared;
  $("ask-answer").textContent = "";
  $("err-permalink").textContent = "";
  compareSlots(scenarioNames);
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
  forgetPrevious();
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

// A damaged link says so (in an error that stays until the scenario changes) instead of silently
// showing the default scenario.
function damagedLink(reason) {
  $("err-permalink").textContent = `This permalink is damaged (${reason}); showing ${state.scenario} instead.`;
  document.body.dataset.permalink = "damaged";
}

async function fromPermalink() {
  if (!location.hash.startsWith("#p=")) return false;
  const match = location.hash.match(/^#p=([A-Za-z0-9_-]+)$/);
  if (!match) { damagedLink("it has characters a permalink never has"); return false; }
  let payload;
  try {
    const bytes = await pipe(unb64url(match[1]), new DecompressionStream("deflate-raw"));
    payload = JSON.parse(new TextDecoder().decode(bytes));
    if (typeof payload !== "object" || payload === null || payload.v !== 1) throw new Error("not a flopgrid link");
  } catch (e) {
    damagedLink(String(e.message || e));
    return false;
  }
  state.samples = payload.n || 1;
  state.seed = payload.seed || 0;
  if (payload.y) {
    const result = await api("/api/validate", { method: "POST", body: JSON.stringify({ yaml: payload.y }) });
    if (!result.ok) { damagedLink("its scenario is not valid"); showErrors(result.body.detail); return false; }
    state.yaml = payload.y; state.scenario = null;
    adopt(result.body);
    $("scenario-select").add(new Option(`${result.body.name} (from link)`, "__upload__", true, true));
  } else if (!(await loadScenario(payload.s || "seed-7t"))) {
    damagedLink(`it names an unknown scenario ${payload.s}`);
    return false;
  }
  state.edits = payload.a || {};
  document.body.dataset.permalink = "restored";
  return true;
}

// -------------------------------------------------------------------------------------- compare

let scenarioNames = [];

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
    plot(div, figure);
  }
  const rows = [["h100e_end", "H100e at end", 1e6, "M"], ["facility_power_end", "Facility power at end (average draw)", 1e9, "GW"],
                ["energy", "Energy", 1e12, "TWh"], ["capex", "Capex", 1e9, "B USD"],
                ["funding_gap", "Funding gap", 1e9, "B USD"], ["npv", "NPV", 1e9, "B USD"]];
  const labels = result.body.labels;
  let html = "<tr><th>figure</th>" + labels.map((l) => `<th>${escapeHtml(l)}</th>`).join("") + "</tr>";
  for (const [key, name, scale, unit] of rows) {
    html += `<tr><td>${name} [${unit}]</td>` + labels.map((l) => {
      const entry = result.body.totals[l][key];
      const v = entry ? entry.value : null;
      return `<td>${v === null ? "–" : Number((v / scale).toPrecision(4)).toLocaleString("en")}</td>`;
    }).join("") + "</tr>";
  }
  $("compare-table").innerHTML = html;
  document.body.dataset.compared = labels.join("|");
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

function backToLive() {
  resetJobs();
  schedule();
}

async function start() {
  for (const div of document.querySelectorAll("#charts .chart")) observer.observe(div);
  const health = await api("/api/health");
  if (!health.ok) { status(health.status === 401 ? "this server needs ?token=… in the address" : "API unavailable"); return; }
  $("job-plan").disabled = !health.body.capabilities.planner;
  if (!health.body.capabilities.planner) $("job-plan").title = "the planner is not installed in this flopgrid";
  $("samples").max = health.body.limits.max_sync_samples;
  $("job-samples").max = health.body.limits.max_job_samples;
  const list = await api("/api/scenarios");
  scenarioNames = list.body.map((s) => s.name);
  const select = $("scenario-select");
  for (const s of list.body) select.add(new Option(s.name, s.name));
  if (!(await fromPermalink())) await loadScenario(state.scenario);
  select.value = state.yaml !== null ? "__upload__" : state.scenario;
  compareSlots(scenarioNames);
  fillForm();

  select.addEventListener("change", async () => {
    if (select.value === "__upload__") return;
    state.edits = {};
    clearErrors();
    if (await loadScenario(select.value)) { forgetPrevious(); fillForm(); schedule(); }
  });
  $("scenario-upload").addEventListener("change", (e) => { if (e.target.files[0]) upload(e.target.files[0]); });
  bindNumber("budget", false);
  bindNumber("fabs", true);
  bindNumber("campus_gw", false);
  bindNumber("start", true);
  bindNumber("end", true);
  $("chip").addEventListener("change", () => {
    if ($("chip").value) edit("chip", $("chip").value);
    else { delete state.edits.chip; schedule(); }
  });
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
  for (const kind of ["montecarlo", "plan", "sensitivity", "sweep"]) $("job-" + kind).addEventListener("click", () => startJob(kind));
  $("job-cancel").addEventListener("click", cancelJob);
  $("back-live").addEventListener("click", backToLive);
  $("ask-run").addEventListener("click", ask);
  $("ask-figure").addEventListener("change", askUnit);
  $("dist-figure").addEventListener("change", drawDistribution);
  $("runs-refresh").addEventListener("click", loadRuns);
  $("download-csv").addEventListener("click", () => download("csv"));
  $("download-parquet").addEventListener("click", () => download("parquet"));
  window.addEventListener("hashchange", async () => { if (await fromPermalink()) { forgetPrevious(); fillForm(); schedule(); } });
  loadRuns();
  schedule();
  loadAtlas();
}

start();
