import { PLOT_CONFIG, drawDigit, getParams, initControls, setStatus, syncUrl } from "/static/lab.js";
import { mountTwinPanel } from "/static/twin.js";

let requestNo = 0;

async function refresh() {
  const params = getParams();
  const no = ++requestNo;
  const resp = await fetch(`/api/augment/sample?${new URLSearchParams(Object.entries(params).map(([k, v]) => [k, String(v)]))}`);
  const data = await resp.json();
  if (no !== requestNo) return;
  if (!resp.ok) { setStatus(data.message || data.detail, "error"); return; }
  const images = data.dataset === "digits";
  document.getElementById("aug-plot-panel").hidden = images;
  document.getElementById("aug-digits-panel").hidden = !images;
  if (images) {
    for (const [id, key] of [["aug-original", "original"], ["aug-augmented", "augmented"]]) {
      const box = document.getElementById(id);
      box.replaceChildren();
      data[key].forEach((img, i) => drawDigit(box, img, `label ${data.labels[i]}`));
    }
  } else if (data.dataset === "moons") {
    const trace = (pts, name, symbol) => ({ type: "scatter", mode: "markers", name, x: pts.map((p) => p[0]), y: pts.map((p) => p[1]),
      marker: { symbol, size: 6, color: data.labels, colorscale: [[0, "#08519c"], [1, "#a63603"]], opacity: symbol === "circle" ? 1 : 0.6 } });
    Plotly.react("aug-plot", [trace(data.original, "original", "circle"), trace(data.augmented, "jittered", "x")],
      { title: { text: `Moons: original (dots) and jittered (crosses), std ${data.amount}` }, margin: { l: 30, r: 10, t: 35, b: 30 },
        yaxis: { scaleanchor: "x" }, legend: { orientation: "h", y: -0.1 } }, PLOT_CONFIG);
  } else {
    const traces = [];
    data.original.forEach((sig, i) => {
      const x = sig.map((_, t) => t);
      traces.push({ x, y: sig.map((v) => v + 4 * i), mode: "lines", line: { color: "#1f77b4" }, name: "original", showlegend: i === 0 });
      traces.push({ x, y: data.augmented[i].map((v) => v + 4 * i), mode: "lines", line: { color: "#d62728", dash: "dash" }, name: "shifted", showlegend: i === 0 });
    });
    Plotly.react("aug-plot", traces, { title: { text: `MNIST-1D: original and shifted by up to ${data.amount} samples` },
      margin: { l: 30, r: 10, t: 35, b: 30 }, yaxis: { showticklabels: false }, legend: { orientation: "h", y: -0.1 } }, PLOT_CONFIG);
  }
  setStatus(`${data.op}, amount ${data.amount}, seed ${data.seed}: labels ${data.labels.slice(0, 6).join(", ")}${data.labels.length > 6 ? ", …" : ""}.`);
  document.body.dataset.samples = String(Number(document.body.dataset.samples || 0) + 1);
}

initControls(refresh);
document.getElementById("resample").addEventListener("click", () => {
  const seed = document.getElementById("seed");
  seed.value = String(Number(seed.value) + 1);
  document.querySelector('[data-show="seed"]').textContent = seed.value;
  syncUrl();
  refresh();
});
mountTwinPanel(() => ({ augment: Number(document.getElementById("strength").value) || 0.3 }), "augmentation");
refresh();
