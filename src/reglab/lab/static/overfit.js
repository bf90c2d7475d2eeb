import {
  Batcher, COLORS, HEATMAP_LAYOUT, JobRunner, PLOT_CONFIG, boundaryTraces, fmt, getParams,
  initTrainButtons, refreshCode, setStatus,
} from "/static/lab.js";

const DEMO = "overfit";
let info = null;
let grid = null;
let points = null;
let epochs = [];
let pressed = 0; // performance.now() when Train was pressed
let twinNote = "";

function lossLayout(best) {
  const shapes = best
    ? [{ type: "line", x0: best, x1: best, yref: "paper", y0: 0, y1: 1, line: { color: COLORS.best, width: 2, dash: "dot" } }]
    : [];
  return {
    title: { text: "Loss per epoch" }, margin: { l: 45, r: 10, t: 35, b: 70 },
    xaxis: { title: { text: "epoch" } }, yaxis: { title: { text: "cross-entropy" } },
    legend: { orientation: "h", y: -0.3 }, shapes,
  };
}

// Traces 0-1: the trained model (the regularized twin when a regularizer is on);
// traces 2-3: the unregularized twin, dashed (empty when no regularizer is on).
function resetCharts() {
  epochs = [];
  const dashed = (name, color) => ({ x: [], y: [], name, mode: "lines", line: { color, dash: "dash", width: 1.5 } });
  Plotly.newPlot("loss-chart", [
    { x: [], y: [], name: "train loss", mode: "lines", line: { color: COLORS.train } },
    { x: [], y: [], name: "val loss", mode: "lines", line: { color: COLORS.val }, fill: "tonexty", fillcolor: "rgba(214,39,40,0.12)" },
    dashed("train loss, no reg.", COLORS.train), dashed("val loss, no reg.", COLORS.val),
  ], lossLayout(null), PLOT_CONFIG);
  Plotly.newPlot("acc-chart", [
    { x: [], y: [], name: "train acc", mode: "lines", line: { color: COLORS.train } },
    { x: [], y: [], name: "val acc", mode: "lines", line: { color: COLORS.val } },
    dashed("train acc, no reg.", COLORS.train), dashed("val acc, no reg.", COLORS.val),
  ], {
    title: { text: "Accuracy per epoch" }, margin: { l: 45, r: 10, t: 35, b: 70 },
    xaxis: { title: { text: "epoch" } }, yaxis: { range: [0, 1.02] }, legend: { orientation: "h", y: -0.3 },
  }, PLOT_CONFIG);
  for (const id of ["verdict", "epoch", "best", "gap", "valacc"]) document.getElementById(id).textContent = "–";
  document.getElementById("verdict").className = "verdict";
}

function extend(list, first) {
  if (!list.length) return;
  const x = list.map((e) => e.epoch);
  Plotly.extendTraces("loss-chart", { x: [x, x], y: [list.map((e) => e.train_loss), list.map((e) => e.val_loss)] }, [first, first + 1]);
  Plotly.extendTraces("acc-chart", { x: [x, x], y: [list.map((e) => e.train_acc), list.map((e) => e.val_acc)] }, [first, first + 1]);
}

let lastBase = null;

const batcher = new Batcher((all) => {
  const base = all.filter((e) => e.arm === "baseline");
  const items = all.filter((e) => e.arm !== "baseline");
  extend(items, 0);
  extend(base, 2);
  if (base.length) lastBase = base[base.length - 1];
  if (!items.length) return;
  const last = items[items.length - 1];
  Plotly.relayout("loss-chart", { shapes: lossLayout(last.best_epoch).shapes });
  const withBoundary = items.filter((e) => e.boundary);
  if (withBoundary.length && grid) {
    const b = withBoundary[withBoundary.length - 1].boundary;
    Plotly.react("boundary", boundaryTraces(grid, b, points, info.num_classes),
      { ...HEATMAP_LAYOUT, title: { text: `Decision boundary, epoch ${withBoundary[withBoundary.length - 1].epoch}` } },
      PLOT_CONFIG);
  }
  document.getElementById("epoch").textContent = `${last.epoch}`;
  document.getElementById("best").textContent = `${last.best_epoch}`;
  const pts = (g) => (g === null || g === undefined ? "–" : `${(100 * g).toFixed(1)} pts`);
  document.getElementById("gap").textContent = lastBase ? `${pts(last.gap)} (no reg.: ${pts(lastBase.gap)})` : pts(last.gap);
  document.getElementById("valacc").textContent = fmt(last.val_acc);
  const v = document.getElementById("verdict");
  v.textContent = last.verdict;
  v.className = `verdict ${last.verdict.replace(" ", "-")}`;
  document.getElementById("sentence").textContent = last.sentence;
  document.body.dataset.epochs = String(last.epoch);
});

const runner = new JobRunner(DEMO, {
  start(data) {
    info = data.info;
    lastBase = null;
    twinNote = data.regularizers && data.regularizers.length
      ? ` Solid: with ${data.regularizers.join(", ")}; dashed: the unregularized twin on the same batches.` : "";
    grid = data.grid;
    points = data.points;
    document.getElementById("boundary-panel").style.display = grid ? "" : "none";
    setStatus(`Training on ${info.n_train} samples (${info.n_flipped} labels flipped), validating on ${info.n_val}…`);
  },
  epoch(data) {
    if (!epochs.length) {
      const ms = Math.round(performance.now() - pressed);
      document.body.dataset.firstPointMs = String(ms);
      setStatus(`Training on ${info.n_train} samples (${info.n_flipped} labels flipped): first epoch streamed ${ms} ms after Train.`);
    }
    epochs.push(data);
    batcher.push(data);
  },
  done(data) {
    batcher.flushNow();
    setStatus(`Done: ${data.stopped_epoch} epochs, best epoch ${data.best_epoch}.${twinNote}`);
    if (data.comparison) document.getElementById("sentence").textContent = data.comparison;
    document.body.dataset.state = "done";
  },
  cancelled() { setStatus("Stopped."); },
  error(data) { setStatus(data.message, "error"); },
});

function train() {
  pressed = performance.now();
  resetCharts();
  document.body.dataset.state = "running";
  setStatus("Starting…");
  runner.start(getParams());
}

initTrainButtons(DEMO, runner, train, () => resetCharts());
Plotly.newPlot("boundary", [], { ...HEATMAP_LAYOUT, title: { text: "Decision boundary" } }, PLOT_CONFIG);
resetCharts();
refreshCode(DEMO, getParams());
