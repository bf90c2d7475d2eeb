import { PLOT_CONFIG, drawDigit, getParams, initControls, initCopyButton, refreshCode, setStatus, syncUrl } from "/static/lab.js";

const DEMO = "mixup";
let requestNo = 0;

function topClasses(row) {
  return row.map((p, c) => [p, c]).filter(([p]) => p > 0.005).sort((a, b) => b[0] - a[0])
    .slice(0, 2).map(([p, c]) => `${c}: ${p.toFixed(2)}`).join(", ");
}

function targetChart(div, title, rows) {
  const classes = rows[0].map((_, c) => String(c));
  Plotly.react(div, [{
    type: "heatmap", z: rows, x: classes, y: rows.map((_, i) => `sample ${i + 1}`), zmin: 0, zmax: 1,
    colorscale: [[0, "#ffffff"], [1, "#2b6cb0"]], text: rows.map((r) => r.map((v) => v.toFixed(2))), texttemplate: "%{text}", showscale: false, textfont: { size: 10 },
  }], { title: { text: title }, margin: { l: 70, r: 10, t: 35, b: 35 }, xaxis: { title: { text: "class" } },
        yaxis: { autorange: "reversed" } }, PLOT_CONFIG);
}

async function refresh() {
  const params = getParams();
  const no = ++requestNo;
  const query = new URLSearchParams(Object.entries(params).map(([k, v]) => [k, String(v)]));
  const resp = await fetch(`/api/mix/sample?${query}`);
  const data = await resp.json();
  if (no !== requestNo) return;
  if (!resp.ok) {
    setStatus(data.message || data.detail, "error");
    return;
  }
  const originals = document.getElementById("originals");
  const mixed = document.getElementById("mixed");
  originals.replaceChildren();
  mixed.replaceChildren();
  data.images.forEach((img, i) => drawDigit(originals, img, `label ${data.labels[i]}`));
  const pairs = data.pairs;
  pairs.images.forEach((img, i) => drawDigit(mixed, img,
    `λ=${pairs.lam[i].toFixed(2)}: ${data.labels[i]} + ${data.labels[pairs.partner[i]]}`));
  targetChart("soft-chart", `Soft targets from ${data.method} (one λ per pair)`, pairs.targets);
  targetChart("smooth-chart", `After label smoothing ε=${data.smoothing}`, pairs.smoothed_targets);
  setStatus(`Seed ${data.seed}: ${data.method} with α=${data.alpha}.`);
  document.body.dataset.samples = String(Number(document.body.dataset.samples || 0) + 1);
  refreshCode(DEMO, params);
}

initControls(refresh);
initCopyButton();
document.getElementById("resample").addEventListener("click", () => {
  const seed = document.getElementById("seed");
  seed.value = String(Number(seed.value) + 1);
  document.querySelector('[data-show="seed"]').textContent = seed.value;
  syncUrl();
  refresh();
});
refresh();
