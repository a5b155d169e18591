// The atlas panel: the pipeline chart of one kind of asset, the map of every asset with coordinates and
// a table of the assets with their sources. The server builds the figures (flopgrid.charts.atlas); the
// map's land outlines ship with flopgrid, so nothing here reaches beyond this server.

import { $, api, escapeHtml, fmt, plot } from "./api.js";

let atlas = null;

function link(url, text) {
  return url ? `<a href="${escapeHtml(url)}" target="_blank" rel="noopener noreferrer">${escapeHtml(text)}</a>` : "";
}

function years(a) {
  return [a.online_year, a.full_year].filter((y) => y !== null && y !== undefined).join("–");
}

function fillTable(kind) {
  const rows = atlas.assets.filter((a) => a.kind === kind);
  let html = "<thead><tr><th>asset</th><th>place</th><th>status</th><th>in service</th><th>capacity</th>" +
             "<th>source</th><th>map</th></tr></thead><tbody>";
  for (const a of rows) {
    const size = a.capacity === null ? "–" : `${fmt(a.capacity)} ${escapeHtml(a.unit)} ${escapeHtml(a.basis || "")}`;
    const source = link(a.url, `${a.publisher}, ${a.title} (${a.date})`);
    const place = a.lat === null ? "not on the map" : link(a.coords_source.split(" ")[0], `${fmt(a.lat, 4)}, ${fmt(a.lon, 4)}`);
    html += `<tr data-asset="${escapeHtml(a.id)}"><td>${escapeHtml(a.name)}<br><span class="hint">${escapeHtml(a.operator)}</span></td>` +
            `<td>${escapeHtml(a.site)} (${escapeHtml(a.country)})</td><td>${escapeHtml(a.status.replace("_", " "))}</td>` +
            `<td>${years(a) || "–"}</td><td>${size}</td><td class="source">${source}</td><td>${place}</td></tr>`;
  }
  $("atlas-table").innerHTML = html + "</tbody>";
}

function showKind() {
  const kind = $("atlas-kind").value;
  plot($("chart-atlas-pipeline"), atlas.pipelines[kind]);
  fillTable(kind);
  document.body.dataset.atlasKind = kind;
}

// Loads the atlas once (it does not change while the server runs) and draws the panel.
export async function loadAtlas() {
  const result = await api("/api/atlas");
  if (!result.ok) { $("atlas-note").textContent = "the atlas is unavailable"; return; }
  atlas = result.body;
  const select = $("atlas-kind");
  for (const kind of atlas.kinds) select.add(new Option(kind, kind, false, kind === "campus"));
  select.addEventListener("change", showKind);
  $("atlas-note").textContent = `${atlas.assets.length} named assets, each with its source; ` +
    `${atlas.located} placed on the map (town or county centres where sources name no site).`;
  plot($("chart-atlas-map"), atlas.map);
  showKind();
  document.body.dataset.atlas = "drawn";
}
