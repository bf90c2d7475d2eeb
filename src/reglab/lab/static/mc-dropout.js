import { Batcher, HEATMAP_LAYOUT, JobRunner, PLOT_CONFIG, boundaryTraces, fmt, getParams, initTrainButtons, setStatus } from "/static/lab.js";

const DEMO = "mc_dropout";
let grid = null;
let points = null;
let info = null;

function resetCharts() {
  Plotly.newPlot("mc-mean", [], { ...HEATMAP_LAYOUT, title: { text: "Mean prediction (dropout on)" } }, PLOT_CONFIG);
  Plotly.newPlot("mc-spread", [], { ...HEATMAP_LAYOUT, title: { text: "Spread (std over passes)" } }, PLOT_CONFIG);
  for (const id of ["epoch", "valacc", "spread-train", "spread-far"]) document.getElementById(id).textContent = "–";
}

const batcher = new Batcher((items) => {
  const last = items[items.length - 1];
  const frames = items.filter((e) => e.boundary);
  if (frames.length && grid) {
    const f = frames[frames.length - 1];
    Plotly.react("mc-mean", boundaryTraces(grid, f.boundary, points, info.num_classes),
      { ...HEATMAP_LAYOUT, title: { text: `Prediction while training, epoch ${f.epoch}` } }, PLOT_CONFIG);
  }
  document.getElementById("epoch").textContent = String(last.epoch);
  document.getElementById("valacc").textContent = fmt(last.val_acc);
  document.body.dataset.epochs = String(last.epoch);
});

const runner = new JobRunner(DEMO, {
  start(data) {
    grid = data.grid;
    points = data.points;
    info = data.info;
    setStatus(`Training on ${info.n_train} points with dropout…`);
  },
  epoch(data) { batcher.push(data); },
  done(data) {
    batcher.flushNow();
    Plotly.react("mc-mean", boundaryTraces(grid, { kind: "prob", z: data.mean }, points, 2),
      { ...HEATMAP_LAYOUT, title: { text: `Mean P(class 1) over ${data.samples} passes` } }, PLOT_CONFIG);
    const spread = { type: "heatmap", x: grid.x, y: grid.y, z: data.spread, zmin: 0, colorscale: "Viridis", showscale: true,
      hoverinfo: "skip", colorbar: { thickness: 10 } };
    const dots = boundaryTraces(grid, { kind: "prob", z: data.mean }, points, 2)[1];
    Plotly.react("mc-spread", [spread, dots], { ...HEATMAP_LAYOUT, title: { text: "Spread: std of P(class 1)" } }, PLOT_CONFIG);
    document.getElementById("spread-train").textContent = fmt(data.spread_on_train);
    document.getElementById("spread-far").textContent = fmt(data.spread_far);
    setStatus(`Done. The passes disagree ${(data.spread_far / data.spread_on_train).toFixed(1)}x more far from the data than on the training points.`);
    document.body.dataset.state = "done";
  },
  cancelled() { setStatus("Stopped."); },
  error(data) { setStatus(data.message, "error"); },
});

function train() {
  resetCharts();
  document.body.dataset.state = "running";
  setStatus("Starting…");
  runner.start(getParams());
}

// No "copy as code" on this page: initTrainButtons refreshes a #code box only where one exists.
initTrainButtons(DEMO, runner, train, resetCharts);
resetCharts();
