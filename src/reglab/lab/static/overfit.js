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

function resetCharts() {
  epochs = [];
  Plotly.newPlot("loss-chart", [
    { x: [], y: [], name: "train loss", mode: "lines", line: { color: COLORS.train } },
    { x: [], y: [], name: "val loss", mode: "lines", line: { color: COLORS.val }, fill: "tonexty", fillcolor: "rgba(214,39,40,0.12)" },
  ], lossLayout(null), PLOT_CONFIG);
  Plotly.newPlot("acc-chart", [
    { x: [], y: [], name: "train acc", mode: "lines", line: { color: COLORS.train } },
    { x: [], y: [], name: "val acc", mode: "lines", line: { color: COLORS.val } },
  ], {
    title: { text: "Accuracy per epoch" }, margin: { l: 45, r: 10, t: 35, b: 70 },
    xaxis: { title: { text: "epoch" } }, yaxis: { range: [0, 1.02] }, legend: { orientation: "h", y: -0.3 },
  }, PLOT_CONFIG);
  for (const id of ["verdict", "epoch", "best", "gap", "valacc"]) document.getElementById(id).textContent = "–";
  document.getElementById("verdict").className = "verdict";
}

const batcher = new Batcher((items) => {
  const x = items.map((e) => e.epoch);
  Plotly.extendTraces("loss-chart", { x: [x, x], y: [items.map((e) => e.train_loss), items.map((e) => e.val_loss)] }, [0, 1]);
  Plotly.extendTraces("acc-chart", { x: [x, x], y: [items.map((e) => e.train_acc), items.map((e) => e.val_acc)] }, [0, 1]);
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
  document.getElementById("gap").textContent = last.gap === null ? "–" : `${(100 * last.gap).toFixed(1)} pts`;
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
    setStatus(`Done: ${data.stopped_epoch} epochs, best epoch ${data.best_epoch}.`);
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

initTrainButtons(DEMO, runner, train);
Plotly.newPlot("boundary", [], { ...HEATMAP_LAYOUT, title: { text: "Decision boundary" } }, PLOT_CONFIG);
resetCharts();
refreshCode(DEMO, getParams());
