// The main area: draws a run's figures, cards and distributions, says which run is shown, and marks
// it stale while the assumptions on the left are invalid.

import { $, plot, state } from "./api.js";
import { drawDistribution, showCards } from "./answers.js";

export const CHARTS = ["compute", "power_source", "power_region", "energy", "capex", "opex",
                       "bottlenecks", "cash", "fan", "fan_power", "fan_energy", "fan_capex", "fan_gap",
                       "shadow_prices"];

// Charts in view are redrawn at once; the others one per animation frame after, so what the user
// sees follows a slider without waiting for charts scrolled out of sight. (Each Plotly redraw costs
// 20–80 ms in a CPU-only browser, about half of it the legend.)
const inView = new Set();
export const observer = new IntersectionObserver((entries) => {
  for (const entry of entries) {
    // "In view" is at least half shown: a chart peeking in at the bottom is drawn a frame later.
    if (entry.intersectionRatio >= 0.5) inView.add(entry.target.id); else inView.delete(entry.target.id);
  }
}, { threshold: [0, 0.5, 1] });
let drawToken = 0;

function drawOne(name, figure, revision) {
  const div = $("chart-" + name);
  plot(div, figure);
  div.dataset.revision = revision;
}

// Draws every figure of a run; `done` is called once the last one is drawn.
function draw(figures, started, revision, done) {
  const token = ++drawToken;
  const later = [];
  for (const name of CHARTS) {
    const figure = figures[name];
    const div = $("chart-" + name);
    if (!figure) { Plotly.purge(div); div.hidden = true; continue; }
    if (inView.has("chart-" + name)) drawOne(name, figure, revision); else later.push(name);
  }
  document.body.dataset.lastUpdateMs = (performance.now() - started).toFixed(1);
  const next = () => {
    if (token !== drawToken) return;  // a newer run supersedes this one
    const name = later.shift();
    if (name === undefined) {
      document.body.dataset.allDrawnMs = (performance.now() - started).toFixed(1);
      done();
      return;
    }
    drawOne(name, figures[name], revision);
    requestAnimationFrame(next);
  };
  requestAnimationFrame(next);
}

// Shows a run: `view` says where it comes from ({source: "live"|"job"|"run", samples, job, label}).
export function showView(body, view, started = performance.now()) {
  state.view = Object.assign({ distributions: body.distributions || {} }, view);
  setStale(false);
  showCards(body.cards, view.samples);
  drawDistribution();
  $("view-source").textContent = view.label;
  $("back-live").hidden = view.source === "live";
  document.body.dataset.view = view.source;
  const revision = view.source === "live" ? String(state.runs) : view.source + ":" + (view.job || view.run);
  draw(body.charts || {}, started, revision, () => {
    if (view.source === "live") document.body.dataset.drawn = String(state.runs);
    else document.body.dataset.viewDrawn = revision;
  });
}

// While a field is invalid the charts and cards still show the last valid run: say so on them.
export function setStale(stale) {
  document.body.classList.toggle("stale", stale);
  $("stale-note").hidden = !stale;
}
