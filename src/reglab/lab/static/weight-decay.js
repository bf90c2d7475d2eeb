import {
  Batcher, COLORS, HEATMAP_LAYOUT, JobRunner, PLOT_CONFIG, boundaryTraces, fmt, getParams,
  initTrainButtons, refreshCode, setStatus,
} from "/static/lab.js";

const DEMO = "weight_decay";
let start = null;
const latest = { regularized: null, baseline: null };
const TRACE = { regularized: 0, baseline: 1 };

function label(params) {
  return params.penalty === "none" || params.lam === 0 ? "no penalty" : `${params.penalty.toUpperCase()}, λ=${params.lam}`;
}

function resetCharts() {
  latest.regularized = latest.baseline = null;
  const params = getParams();
  const line = (name, color, dash) => ({ x: [], y: [], name, mode: "lines", line: { color, dash } });
  Plotly.newPlot("loss-chart", [
    line(`val loss (${label(params)})`, COLORS.reg), line("val loss (none)", COLORS.base),
    line(`train loss (${label(params)})`, COLORS.reg, "dot"), line("train loss (none)", COLORS.base, "dot"),
  ], { title: { text: "Loss per epoch (data loss, without the penalty)" }, margin: { l: 45, r: 10, t: 35, b: 70 },
       xaxis: { title: { text: "epoch" } }, legend: { orientation: "h", y: -0.3 } }, PLOT_CONFIG);
  Plotly.newPlot("norm-chart", [
    line(`weight norm (${label(params)})`, COLORS.reg), line("weight norm (none)", COLORS.base),
  ], { title: { text: "L2 norm of the weight matrices" }, margin: { l: 45, r: 10, t: 35, b: 70 },
       xaxis: { title: { text: "epoch" } }, legend: { orientation: "h", y: -0.3 } }, PLOT_CONFIG);
  Plotly.newPlot("boundary-reg", [], { ...HEATMAP_LAYOUT, title: { text: label(params) } }, PLOT_CONFIG);
  Plotly.newPlot("boundary-base", [], { ...HEATMAP_LAYOUT, title: { text: "no penalty" } }, PLOT_CONFIG);
  for (const id of ["epoch", "norms", "zeros", "accs"]) document.getElementById(id).textContent = "–";
}

function pair(f) {
  const r = latest.regularized, b = latest.baseline;
  return `${r ? f(r) : "–"} / ${b ? f(b) : "–"}`;
}

const batcher = new Batcher((items) => {
  const params = getParams();
  for (const arm of ["regularized", "baseline"]) {
    const mine = items.filter((e) => e.arm === arm);
    if (!mine.length) continue;
    const x = mine.map((e) => e.epoch);
    const t = TRACE[arm];
    Plotly.extendTraces("loss-chart", { x: [x, x], y: [mine.map((e) => e.val_loss), mine.map((e) => e.train_loss)] }, [t, t + 2]);
    Plotly.extendTraces("norm-chart", { x: [x], y: [mine.map((e) => e.weight_norm)] }, [t]);
    const withB = mine.filter((e) => e.boundary);
    if (withB.length) {
      const last = withB[withB.length - 1];
      const div = arm === "regularized" ? "boundary-reg" : "boundary-base";
      const title = `${arm === "regularized" ? label(params) : "no penalty"}: epoch ${last.epoch}`;
      Plotly.react(div, boundaryTraces(start.grid, last.boundary, start.points, start.info.num_classes),
        { ...HEATMAP_LAYOUT, title: { text: title } }, PLOT_CONFIG);
    }
    latest[arm] = mine[mine.length - 1];
  }
  const epoch = Math.max(latest.regularized?.epoch || 0, latest.baseline?.epoch || 0);
  document.getElementById("epoch").textContent = String(epoch);
  document.getElementById("norms").textContent = pair((e) => fmt(e.weight_norm, 2));
  document.getElementById("zeros").textContent = pair((e) => `${e.near_zero}`) + ` of ${start.n_weights}`;
  document.getElementById("accs").textContent = pair((e) => fmt(e.val_acc));
  document.body.dataset.epochs = String(epoch);
});

const runner = new JobRunner(DEMO, {
  start(data) {
    start = data;
    setStatus(`Training both models on ${data.info.n_train} samples…`);
  },
  epoch(data) { batcher.push(data); },
  done() {
    batcher.flushNow();
    setStatus("Done.");
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

initTrainButtons(DEMO, runner, train, () => resetCharts());
resetCharts();
refreshCode(DEMO, getParams());
