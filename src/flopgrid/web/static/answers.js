// The answers up front: headline cards, the "probability that …" box and the distribution chart.

import { $, api, escapeHtml, fmt, plot, scenarioPart, state } from "./api.js";

// Cards: one per headline (total cost, compute, power, …), each line "label: P50 unit (P5–P95)".
export function showCards(cards, samples) {
  const box = $("cards");
  box.innerHTML = "";
  for (const card of cards || []) {
    const el = document.createElement("div");
    el.className = "card";
    el.dataset.card = card.title;
    let html = `<h3>${escapeHtml(card.title)}</h3>`;
    for (const line of card.lines) {
      const numeric = typeof line.value !== "string";
      const value = numeric ? fmt(line.value) : escapeHtml(line.value);
      const unit = numeric && line.unit && line.unit !== "—" ? ` <span class="unit">${escapeHtml(line.unit)}</span>` : "";
      const range = numeric && line.low !== null && line.low !== undefined
        ? `<span class="range">P5–P95 ${fmt(line.low)}–${fmt(line.high)}</span>` : "";
      html += `<div class="line" data-figure="${escapeHtml(line.name)}"><span class="label">${escapeHtml(line.label)}</span>` +
              `<span class="value">${value}${unit}</span>${range}</div>`;
    }
    el.innerHTML = html;
    box.append(el);
  }
  $("cards-note").textContent = samples > 1
    ? `Medians of ${samples.toLocaleString("en")} Monte Carlo samples, with P5–P95.`
    : "One deterministic run: set Samples above 1 or run Monte Carlo for ranges.";
}

// ------------------------------------------------------------------------------- distributions

export function fillFigureChoices(figures) {
  for (const id of ["ask-figure", "dist-figure"]) {
    const select = $(id);
    const keep = select.value;
    select.innerHTML = "";
    for (const f of figures) select.add(new Option(`${f.label} [${f.unit}]`, f.name));
    select.value = figures.some((f) => f.name === keep) ? keep : "h100e_end";
  }
  askUnit();
}

export function drawDistribution() {
  const dists = (state.view && state.view.distributions) || {};
  const name = $("dist-figure").value;
  const div = $("chart-distribution");
  if (dists[name]) {
    $("dist-note").textContent = "";
    plot(div, dists[name]);
  } else {
    Plotly.purge(div);
    div.hidden = true;
    $("dist-note").textContent = Object.keys(dists).length
      ? "this run does not have that figure"
      : "Distributions need a Monte Carlo run: set Samples above 1 or run Monte Carlo.";
  }
}

// ----------------------------------------------------------------------------------- probability

export function askUnit() {
  const f = state.figures.find((x) => x.name === $("ask-figure").value);
  $("ask-unit").textContent = f ? f.unit : "";
}

// Questions answered so far (tests wait on the count).
let asked = 0;

export async function ask() {
  const out = $("ask-answer");
  $("err-ask").textContent = "";
  out.textContent = "";
  const view = state.view;
  if (!view || view.samples < 2) {
    out.textContent = "run Monte Carlo first: set Samples above 1 or press Run Monte Carlo";
    document.body.dataset.asked = String(++asked);
    return;
  }
  if (view.source === "run") {
    out.textContent = "probabilities are answered for the live run or a Monte Carlo job, not a stored run";
    document.body.dataset.asked = String(++asked);
    return;
  }
  const threshold = parseFloat($("ask-threshold").value);
  if (!Number.isFinite(threshold)) { $("err-ask").textContent = "enter a number for the threshold"; return; }
  const question = { figure: $("ask-figure").value, op: $("ask-op").value, threshold };
  let result;
  if (view.source === "job") {
    const q = new URLSearchParams({ figure: question.figure, op: question.op, threshold: String(threshold) });
    result = await api(`/api/jobs/${view.job}/probability?${q}`);
  } else {
    const body = Object.assign(scenarioPart(), { samples: state.samples, seed: state.seed, question });
    result = await api("/api/probability", { method: "POST", body: JSON.stringify(body) });
  }
  if (!result.ok) {
    const d = result.body.detail;
    $("err-ask").textContent = typeof d === "string" ? d : (d || []).map((e) => e.msg).join("; ");
    document.body.dataset.asked = String(++asked);
    return;
  }
  const a = result.body;
  const se = a.standard_error === null ? "" : ` ± ${(a.standard_error * 100).toFixed(1)} pp`;
  out.textContent = `${a.question} = ${a.probability === null ? "–" : (a.probability * 100).toFixed(1) + " %"}${se} ` +
                    `(${a.samples.toLocaleString("en")} samples)`;
  out.dataset.probability = String(a.probability);
  document.body.dataset.asked = String(++asked);
}
