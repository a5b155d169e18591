// Requests to the flopgrid API, the page's shared state and small formatting helpers.

export const PLOT_CONFIG = { responsive: true, displaylogo: false };

export const state = {
  scenario: "seed-7t",   // a shipped name, or null when an upload is in use
  yaml: null,            // the uploaded YAML text
  base: null,            // the scenario's own assumptions (from the server)
  chipsInUse: [],        // the accelerator types the scenario makes, installs or buys
  edits: {},             // assumptions the user changed
  samples: 1,
  seed: 0,
  choices: { chip: [], power_mix: [], regions: [] },
  figures: [],           // numeric headline figures: {name, label, unit}
  runs: 0,
  view: null,            // what the main area shows: {source: "live"|"job"|"run", samples, job?, distributions}
};

export const $ = (id) => document.getElementById(id);

function token() {
  const fromUrl = new URLSearchParams(location.search).get("token");
  if (fromUrl) sessionStorage.setItem("flopgrid-token", fromUrl);
  return sessionStorage.getItem("flopgrid-token");
}

export async function api(path, options = {}) {
  const headers = Object.assign({ "Content-Type": "application/json" }, options.headers || {});
  const t = token();
  if (t) headers["Authorization"] = "Bearer " + t;
  const response = await fetch(path, Object.assign({}, options, { headers }));
  const type = response.headers.get("content-type") || "";
  const body = type.includes("json") ? await response.json() : await response.blob();
  return { ok: response.ok, status: response.status, body };
}

export function status(text) { $("status").textContent = text; }

export function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
}

// A number as people read it: 3 significant digits, thousands separated, years as years.
export function fmt(value, digits = 3) {
  if (value === null || value === undefined || !Number.isFinite(+value)) return "–";
  const v = +value;
  if (Number.isInteger(v) && Math.abs(v) >= 1000 && Math.abs(v) < 1e5) return v.toLocaleString("en");
  return Number(v.toPrecision(digits)).toLocaleString("en", { maximumFractionDigits: 6 });
}

// The request part that names the scenario and its edits.
export function scenarioPart() {
  const part = state.yaml !== null ? { yaml: state.yaml } : { scenario: state.scenario };
  if (Object.keys(state.edits).length) part.assumptions = Object.assign({}, state.edits);
  return part;
}

// "Record this run": sent only when asked (the server's default is not to record interactive runs).
export function recordPart() {
  return $("record") && $("record").checked ? { record: true } : {};
}

// Plotly draws into a div; a div that is hidden is shown first (Plotly sizes from the layout box).
export function plot(div, figure) {
  div.hidden = false;
  Plotly.react(div, figure.data, figure.layout, PLOT_CONFIG);
}
