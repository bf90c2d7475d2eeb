import {
  Batcher, COLORS, JobRunner, PLOT_CONFIG, fmt, getParams, initTrainButtons, refreshCode, setStatus,
} from "/static/lab.js";

const DEMO = "early_stopping";
let stopEpoch = null;
let bestEpoch = null;
let continuing = false;

function marks() {
  const shapes = [];
  const annotations = [];
  if (stopEpoch) {
    shapes.push({ type: "line", x0: stopEpoch, x1: stopEpoch, yref: "paper", y0: 0, y1: 1, line: { color: COLORS.stop, width: 2 } });
    annotations.push({ x: stopEpoch, yref: "paper", y: 1, text: `stop ${stopEpoch}`, showarrow: false, yanchor: "bottom" });
  }
  if (bestEpoch) {
    shapes.push({ type: "line", x0: bestEpoch, x1: bestEpoch, yref: "paper", y0: 0, y1: 1, line: { color: COLORS.best, width: 2, dash: "dot" } });
    annotations.push({ x: bestEpoch, yref: "paper", y: 0.92, text: `best ${bestEpoch}`, showarrow: false, font: { color: COLORS.best } });
  }
  return { shapes, annotations };
}

function resetCharts(keepStopStats) {
  stopEpoch = bestEpoch = null;
  const traces = (what) => [
    { x: [], y: [], name: `train ${what}`, mode: "lines", line: { color: COLORS.train } },
    { x: [], y: [], name: `val ${what}`, mode: "lines", line: { color: COLORS.val } },
    { x: [], y: [], name: `train ${what} past the stop`, mode: "lines", line: { color: COLORS.train, dash: "dot" }, opacity: 0.5 },
    { x: [], y: [], name: `val ${what} past the stop`, mode: "lines", line: { color: COLORS.val, dash: "dot" }, opacity: 0.5 },
  ];
  const layout = (title) => ({ title: { text: title }, margin: { l: 45, r: 10, t: 35, b: 70 },
    xaxis: { title: { text: "epoch" } }, legend: { orientation: "h", y: -0.3 } });
  Plotly.newPlot("loss-chart", traces("loss"), layout("Loss per epoch"), PLOT_CONFIG);
  Plotly.newPlot("acc-chart", traces("acc"), layout("Accuracy per epoch"), PLOT_CONFIG);
  // Continuing past the stop keeps the stopped run's numbers: the continuation replays it exactly.
  const ids = keepStopStats ? ["epoch", "last"] : ["epoch", "stopped", "best", "restored", "last"];
  for (const id of ids) document.getElementById(id).textContent = "–";
  if (!keepStopStats) document.getElementById("reason").textContent = "";
}

const batcher = new Batcher((items) => {
  for (const [past, group] of [[false, items.filter((e) => !stopEpoch || e.epoch <= stopEpoch)],
                               [true, items.filter((e) => continuing && stopEpoch && e.epoch >= stopEpoch)]]) {
    if (!group.length) continue;
    const x = group.map((e) => e.epoch);
    const idx = past ? [2, 3] : [0, 1];
    Plotly.extendTraces("loss-chart", { x: [x, x], y: [group.map((e) => e.train_loss), group.map((e) => e.val_loss)] }, idx);
    Plotly.extendTraces("acc-chart", { x: [x, x], y: [group.map((e) => e.train_acc), group.map((e) => e.val_acc)] }, idx);
  }
  const last = items[items.length - 1];
  if (!stopEpoch || last.epoch <= stopEpoch) bestEpoch = last.best_epoch;
  Plotly.relayout("loss-chart", marks());
  Plotly.relayout("acc-chart", marks());
  document.getElementById("epoch").textContent = String(last.epoch);
  document.getElementById("best").textContent = String(bestEpoch);
  document.getElementById("last").textContent = `${fmt(last.val_loss)} / ${fmt(last.val_acc)}`;
  document.body.dataset.epochs = String(last.epoch);
});

const runner = new JobRunner(DEMO, {
  start(data) { setStatus(`Training on ${data.info.n_train} samples${continuing ? ", past the stop" : ""}…`); },
  epoch(data) { batcher.push(data); },
  stop(data) {
    stopEpoch = data.epoch;
    document.getElementById("stopped").textContent = String(data.epoch);
    document.getElementById("reason").textContent = data.reason;
  },
  done(data) {
    batcher.flushNow();
    if (!continuing) {
      bestEpoch = data.best_epoch;
      document.getElementById("restored").textContent = `${fmt(data.restored.val_loss)} / ${fmt(data.restored.val_acc)}`;
    }
    document.getElementById("best").textContent = String(bestEpoch ?? "–");
    if (!data.early_stop_epoch) document.getElementById("reason").textContent = `Never stopped: ran all ${data.stopped_epoch} epochs.`;
    document.getElementById("continue").disabled = continuing || !data.early_stop_epoch;
    setStatus(continuing
      ? `Trained to epoch ${data.stopped_epoch}; early stopping would have stopped at ${data.early_stop_epoch ?? "–"}. ` +
        `The best of all ${data.stopped_epoch} epochs was epoch ${data.best_epoch} (val loss ${fmt(data.restored.val_loss)}).`
      : `Stopped at epoch ${data.stopped_epoch}; restored the weights of epoch ${data.best_epoch}.`);
    requestAnimationFrame(() => { Plotly.relayout("loss-chart", marks()); Plotly.relayout("acc-chart", marks()); });
    document.body.dataset.state = "done";
  },
  cancelled() { setStatus("Stopped."); },
  error(data) { setStatus(data.message, "error"); },
});

function train(past) {
  continuing = past;
  resetCharts(past);
  document.getElementById("continue").disabled = true;
  document.body.dataset.state = "running";
  setStatus("Starting…");
  runner.start({ ...getParams(), continue_past_stop: past });
}

initTrainButtons(DEMO, runner, () => train(false), () => resetCharts());
document.getElementById("continue").addEventListener("click", () => {
  train(true);
  refreshCode(DEMO, { ...getParams(), continue_past_stop: true });
});
resetCharts();
refreshCode(DEMO, getParams());
