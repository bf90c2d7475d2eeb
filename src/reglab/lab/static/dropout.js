import { COLORS, PLOT_CONFIG, getParams, initControls, initCopyButton, refreshCode, setStatus, syncUrl } from "/static/lab.js";

const DEMO = "dropout";
const SVG = "http://www.w3.org/2000/svg";
let timer = null;
let requestNo = 0;

function el(name, attrs, parent) {
  const node = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  parent.appendChild(node);
  return node;
}

function drawNetwork(data) {
  const svg = document.getElementById("network");
  svg.replaceChildren();
  const W = 600, H = 380, pad = 40;
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  const layers = data.layers;
  const xs = layers.map((_, i) => pad + (i * (W - 2 * pad)) / (layers.length - 1));
  const pos = layers.map((layer, i) =>
    layer.kept.map((_, j) => [xs[i], pad + ((j + 0.5) * (H - 2 * pad)) / layer.units]));
  const edges = el("g", {}, svg);
  for (let i = 0; i + 1 < layers.length; i++) {
    for (let a = 0; a < layers[i].units; a++) {
      for (let b = 0; b < layers[i + 1].units; b++) {
        const live = layers[i].kept[a] && layers[i + 1].kept[b];
        el("line", {
          x1: pos[i][a][0], y1: pos[i][a][1], x2: pos[i + 1][b][0], y2: pos[i + 1][b][1],
          stroke: live ? "#8aa4c8" : "#eceff3", "stroke-width": live ? 1 : 0.6,
        }, edges);
      }
    }
  }
  const nodes = el("g", {}, svg);
  layers.forEach((layer, i) => {
    layer.kept.forEach((kept, j) => {
      const [x, y] = pos[i][j];
      const r = Math.min(13, (H - 2 * pad) / layer.units / 2.6);
      el("circle", {
        cx: x, cy: y, r, fill: kept ? (layer.hidden ? COLORS.train : "#4a5568") : "#ffffff",
        stroke: kept ? "#1a365d" : "#c53030", "stroke-width": 1.5, "stroke-dasharray": kept ? "" : "3 2",
        class: kept ? "unit kept" : "unit dropped",
      }, nodes);
      if (!kept) {
        el("line", { x1: x - r * 0.6, y1: y - r * 0.6, x2: x + r * 0.6, y2: y + r * 0.6, stroke: "#c53030", "stroke-width": 1.5 }, nodes);
        el("line", { x1: x - r * 0.6, y1: y + r * 0.6, x2: x + r * 0.6, y2: y - r * 0.6, stroke: "#c53030", "stroke-width": 1.5 }, nodes);
      } else if (layer.hidden && layer.value[j] !== 1) {
        const label = el("text", { x: x + r + 3, y: y + 4, "font-size": 11, fill: "#2d3748" }, nodes);
        label.textContent = `×${Number(layer.value[j]).toFixed(2)}`;
      }
    });
    const title = el("text", { x: xs[i], y: H - 10, "text-anchor": "middle", "font-size": 12, fill: "#5b6475" }, nodes);
    title.textContent = i === 0 ? "input" : i === layers.length - 1 ? "output" : `hidden ${i}`;
  });
}

function drawPanel(data) {
  const panel = data.panel;
  const units = panel.activation.map((_, j) => `unit ${j + 1}`);
  Plotly.react("expectation", [
    { type: "bar", name: "activation a", x: units, y: panel.activation, marker: { color: "#a0aec0" } },
    { type: "bar", name: `mean of ${panel.samples} training outputs`, x: units, y: panel.train_mean,
      error_y: { type: "data", array: panel.train_stderr.map((s) => 2 * s), visible: true }, marker: { color: COLORS.train } },
    { type: "bar", name: "inference output", x: units, y: panel.inference, marker: { color: COLORS.best } },
  ], {
    title: { text: "E[training output] = inference output" }, barmode: "group",
    margin: { l: 40, r: 10, t: 35, b: 40 }, legend: { orientation: "h", y: -0.15 }, yaxis: { rangemode: "tozero" },
  }, PLOT_CONFIG);
}

async function refresh() {
  const params = getParams();
  const no = ++requestNo;
  const query = new URLSearchParams(Object.entries(params).map(([k, v]) => [k, String(v)]));
  const resp = await fetch(`/api/dropout/mask?${query}`);
  const data = await resp.json();
  if (no !== requestNo) return;
  if (!resp.ok) {
    setStatus(data.message || data.detail, "error");
    return;
  }
  drawNetwork(data);
  drawPanel(data);
  document.getElementById("dropped").textContent = `${data.dropped} units`;
  document.getElementById("train-scale").textContent = `×${data.train_scale.toFixed(3)}`;
  document.getElementById("inference-scale").textContent = `×${data.inference_scale.toFixed(3)}`;
  document.getElementById("kept").textContent = data.panel.kept_fraction.toFixed(3);
  setStatus(params.mode === "eval" ? "Inference: every neuron is used." : `Training mask for seed ${params.seed}.`);
  document.body.dataset.masks = String(Number(document.body.dataset.masks || 0) + 1);
  refreshCode(DEMO, params);
}

function nextMask() {
  const seed = document.getElementById("seed");
  seed.value = String(Number(seed.value) + 1);
  document.querySelector('[data-show="seed"]').textContent = seed.value;
  syncUrl();
  refresh();
}

initControls(refresh, refresh);
initCopyButton();
document.getElementById("step").addEventListener("click", nextMask);
document.getElementById("animate").addEventListener("click", (ev) => {
  if (timer) {
    clearInterval(timer);
    timer = null;
    ev.target.textContent = "Animate";
  } else {
    timer = setInterval(nextMask, 600);
    ev.target.textContent = "Pause";
  }
});
refresh();
