// Background jobs (Monte Carlo, planner, sensitivity, sweep) with progress, the plan panel, the
// analysis panel (tornado, tables) and the list of stored runs.

import { $, api, escapeHtml, fmt, plot, recordPart, scenarioPart, state, status } from "./api.js";
import { showView } from "./view.js";

let activeJob = null;

// Errors of a job request go next to the job buttons, whatever field they name.
function jobError(detail) {
  const text = typeof detail === "string" ? detail
    : (detail || []).map((e) => (e.loc && e.loc.includes("samples") ? "Monte Carlo samples: " : "") + e.msg).join("; ");
  $("err-job").textContent = text;
  document.body.dataset.jobError = text;
}

export function resetJobs() {
  activeJob = null;
  for (const id of ["job-status", "err-job"]) $(id).textContent = "";
  $("job-progress").hidden = true;
  $("job-progress").value = 0;
  $("job-cancel").hidden = true;
  $("plan-panel").hidden = true;
  $("analysis").hidden = true;
  delete document.body.dataset.job;
}

export async function startJob(kind) {
  $("err-job").textContent = "";
  const body = Object.assign(scenarioPart(), { kind, seed: state.seed }, recordPart());
  if (kind === "montecarlo") body.samples = parseInt($("job-samples").value, 10) || 2;
  if (kind === "sensitivity") { body.output = $("sens-output").value; body.method = $("sens-method").value; }
  if (kind === "sweep") {
    const values = $("sweep-values").value.split(/[,\s]+/).filter((v) => v !== "").map(Number);
    if (!values.length || values.some((v) => !Number.isFinite(v))) {
      jobError("sweep values: enter numbers separated by commas, e.g. 2, 3, 5");
      return;
    }
    body.sweep = { assumption: $("sweep-assumption").value, values };
  }
  const result = await api("/api/jobs", { method: "POST", body: JSON.stringify(body) });
  if (!result.ok) { jobError(result.body.detail); return; }
  activeJob = result.body.id;
  document.body.dataset.job = "running";
  $("job-progress").hidden = false;
  $("job-cancel").hidden = false;
  pollJob(activeJob);
}

export async function cancelJob() {
  if (activeJob) await api("/api/jobs/" + activeJob, { method: "DELETE" });
}

async function pollJob(id) {
  if (id !== activeJob) return;  // the scenario changed: this job no longer describes the page
  const result = await api("/api/jobs/" + id);
  if (id !== activeJob) return;
  if (!result.ok) { jobError(result.body.detail); return; }
  const job = result.body;
  $("job-status").textContent = `${job.description}: ${job.status} — ${job.message}`;
  $("job-progress").value = job.progress;
  if (job.status === "queued" || job.status === "running") { setTimeout(() => pollJob(id), 400); return; }
  $("job-cancel").hidden = true;
  $("job-progress").hidden = true;
  if (job.status === "done") {
    const views = await api(`/api/jobs/${job.id}/charts`);
    if (id !== activeJob) return;
    if (views.ok) showJob(job, views.body);
  } else if (job.error) {
    jobError(job.error.msg);
  }
  document.body.dataset.job = job.status;
  activeJob = null;
  loadRuns();
}

function showJob(job, views) {
  const r = job.result || {};
  if (job.kind === "montecarlo" || job.kind === "plan") {
    const what = job.kind === "plan" ? "the planner's plan" : `Monte Carlo, ${r.samples.toLocaleString("en")} samples`;
    showView(views, { source: "job", job: job.id, samples: r.samples || 1,
                      label: `Showing ${what} of ${r.scenario} (job ${job.id}).` });
    $("plan-panel").hidden = job.kind !== "plan";
    if (job.kind === "plan") showPlan(views.plan);
  } else {
    showAnalysis(job, views.charts || {});
  }
}

// --------------------------------------------------------------------------------------- plan

function table(records, id) {
  if (!records || !records.length) return "";
  // "index" is a frame's row number, not a column anyone reads.
  const columns = Object.keys(records[0]).filter((c) => c !== "index");
  let html = `<div class="table-wrap"><table id="${id}"><tr>` + columns.map((c) => `<th>${escapeHtml(c)}</th>`).join("") + "</tr>";
  for (const row of records) {
    html += "<tr>" + columns.map((c) => {
      const v = row[c];
      const shown = typeof v === "number" ? (c === "year" ? String(v) : fmt(v)) : escapeHtml(v ?? "–");
      return `<td>${shown}</td>`;
    }).join("") + "</tr>";
  }
  return html + "</table></div>";
}

function showPlan(plan) {
  const chips = Object.entries(plan.chips_m).map(([k, v]) => `${fmt(v)} M ${escapeHtml(k)}`).join(", ") || "none";
  let html = `<h2>The plan: what to build, where and when</h2>` +
    `<p id="plan-cost">Discounted cost ${fmt(plan.discounted_cost_busd, 4)} B USD ` +
    `(at ${(plan.discount_rate * 100).toFixed(1)} %/year); capex ${fmt(plan.capex_busd, 4)} B USD, ` +
    `opex ${fmt(plan.opex_busd, 4)} B USD over the horizon; chips bought: ${chips}. ` +
    `Objective ${escapeHtml(plan.objective)}, ${escapeHtml(plan.mode)} foresight.</p>`;
  if (plan.shortfall.length) html += "<ul class=\"shortfall\">" + plan.shortfall.map((l) => `<li>${escapeHtml(l)}</li>`).join("") + "</ul>";
  html += "<h3>Bottlenecks, most valuable first</h3><ol id=\"plan-bottlenecks\">" +
    plan.bottlenecks.map((t) => `<li>${escapeHtml(t)}</li>`).join("") + "</ol>";
  html += "<h3>Where (over the horizon)</h3>" + table(plan.by_region, "plan-where");
  html += "<h3>When (construction starts; fleet in service)</h3>" + table(plan.build_plan, "plan-when");
  $("plan-panel").innerHTML = html;
}

// ------------------------------------------------------------------------ sensitivity and sweeps

function showAnalysis(job, charts) {
  const r = job.result || {};
  const panel = $("analysis");
  panel.hidden = false;
  const container = $("analysis-charts");
  container.innerHTML = "";
  for (const [key, figure] of Object.entries(charts)) {
    const div = document.createElement("div");
    div.className = key === "tornado" ? "chart wide" : "chart";
    div.id = "analysis-chart-" + key;
    container.append(div);
    plot(div, figure);
  }
  if (job.kind === "sensitivity") {
    $("analysis-title").textContent = `Sensitivity of ${r.output} [${r.unit}] (${r.method}, ${r.runs} runs; base ${fmt(r.base)})`;
    $("analysis-tables").innerHTML = "<h3>Drivers</h3>" + table(r.table, "sens-table") + "<h3>Tornado</h3>" + table(r.tornado, "tornado-table");
  } else {
    $("analysis-title").textContent = `Sweep of ${r.assumption}`;
    $("analysis-tables").innerHTML = table(r.table, "sweep-table");
  }
  document.body.dataset.analysis = job.kind + ":" + job.id;
}

// ------------------------------------------------------------------------------------------ runs

export async function loadRuns() {
  const result = await api("/api/runs?limit=20");
  const box = $("runs-list");
  if (!result.ok) {
    box.innerHTML = `<p class="hint">${escapeHtml(typeof result.body.detail === "string" ? result.body.detail : "no run store")}</p>`;
    return;
  }
  if (!result.body.length) { box.innerHTML = "<p class=\"hint\">No stored runs yet: tick “Record this run” to keep one.</p>"; return; }
  const columns = ["run_id", "created_at", "scenario", "engine", "samples", "seed", "status"];
  let html = "<div class=\"table-wrap\"><table><tr>" + columns.map((c) => `<th>${c}</th>`).join("") + "<th></th></tr>";
  for (const run of result.body) {
    html += "<tr>" + columns.map((c) => `<td>${escapeHtml(run[c] ?? "–")}</td>`).join("") +
      `<td><button type="button" data-run="${escapeHtml(run.run_id)}">Show</button></td></tr>`;
  }
  box.innerHTML = html + "</table></div>";
  for (const button of box.querySelectorAll("button[data-run]")) button.addEventListener("click", () => showRun(button.dataset.run));
}

async function showRun(id) {
  const result = await api(`/api/runs/${encodeURIComponent(id)}/charts`);
  if (!result.ok) { status(`run ${id}: ${result.body.detail}`); return; }
  $("plan-panel").hidden = !result.body.plan;
  if (result.body.plan) showPlan(result.body.plan);
  showView(result.body, { source: "run", run: id, samples: result.body.samples,
                          label: `Showing stored run ${id} (${result.body.scenario}, ${result.body.samples} sample(s)).` });
}
