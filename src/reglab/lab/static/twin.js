// reglab lab: "train with and without" panels for the dropout and mixup pages. Each runs the
// overfitting demo's job with one regularizer switched on: the regularized model and its
// unregularized twin train on the same batches from the same initial weights.
import { Batcher, COLORS, HEATMAP_LAYOUT, JobRunner, PLOT_CONFIG, boundaryTraces } from "/static/lab.js";

// container: an element holding #twin-train, #twin-loss, #twin-reg, #twin-base, #twin-sentence.
// extra(): the regularizer's params, e.g. {dropout: 0.3}; label: how the page names it.
// options: demo (the job's demo, "overfit" by default), arms ([with, without] event arm names),
// onEpoch(items) for the page's own charts.
export function mountTwinPanel(extra, label, options = {}) {
  const demo = options.demo || "overfit";
  const [withArm, withoutArm] = options.arms || ["regularized", "baseline"];
  const sentence = document.getElementById("twin-sentence");
  let grid = null;
  let points = null;
  let info = null;
  const reset = () => {
    Plotly.newPlot("twin-loss", [
      { x: [], y: [], name: `val loss, with ${label}`, mode: "lines", line: { color: COLORS.reg } },
      { x: [], y: [], name: "val loss, without", mode: "lines", line: { color: COLORS.base, dash: "dash" } },
      { x: [], y: [], name: `train loss, with ${label}`, mode: "lines", line: { color: COLORS.reg, width: 1 }, opacity: 0.5 },
      { x: [], y: [], name: "train loss, without", mode: "lines", line: { color: COLORS.base, width: 1, dash: "dash" }, opacity: 0.5 },
    ], {
      title: { text: "Loss per epoch" }, margin: { l: 45, r: 10, t: 35, b: 70 },
      xaxis: { title: { text: "epoch" } }, legend: { orientation: "h", y: -0.3 },
    }, PLOT_CONFIG);
    for (const id of ["twin-reg", "twin-base"]) {
      Plotly.newPlot(id, [], { ...HEATMAP_LAYOUT, title: { text: id === "twin-reg" ? `With ${label}` : "Without" } }, PLOT_CONFIG);
    }
  };
  const batcher = new Batcher((items) => {
    if (options.onEpoch) options.onEpoch(items);
    for (const [arm, first] of [[withArm, 0], [withoutArm, 1]]) {
      const list = items.filter((e) => e.arm === arm);
      if (!list.length) continue;
      const x = list.map((e) => e.epoch);
      Plotly.extendTraces("twin-loss", { x: [x, x], y: [list.map((e) => e.val_loss), list.map((e) => e.train_loss)] },
        [first, first + 2]);
      const frames = list.filter((e) => e.boundary);
      if (frames.length && grid) {
        const f = frames[frames.length - 1];
        Plotly.react(arm === withArm ? "twin-reg" : "twin-base", boundaryTraces(grid, f.boundary, points, info.num_classes),
          { ...HEATMAP_LAYOUT, title: { text: `${arm === withArm ? `With ${label}` : "Without"}, epoch ${f.epoch}` } },
          PLOT_CONFIG);
      }
    }
    document.body.dataset.twinEpochs = String(items[items.length - 1].epoch);
  });
  const runner = new JobRunner(demo, {
    start(data) {
      if (options.onStart) options.onStart(data);
      grid = data.grid;
      points = data.points;
      info = data.info;
      sentence.textContent = `Training on ${info.n_train} points (${info.n_flipped} labels flipped), with and without ${label}…`;
    },
    epoch(data) { batcher.push(data); },
    teacher(data) { if (options.onTeacher) options.onTeacher(data); },
    done(data) {
      batcher.flushNow();
      sentence.textContent = data.comparison;
      const table = document.getElementById("twin-calibration");
      if (table) {
        const row = (name, arm) => `<tr><th scope="row">${name}</th><td>${arm.confidence.toFixed(3)}</td>` +
          `<td>${arm.accuracy.toFixed(3)}</td><td>${(arm.confidence - arm.accuracy).toFixed(3)}</td><td>${arm.ece.toFixed(3)}</td></tr>`;
        table.innerHTML = "<thead><tr><th></th><th>mean confidence</th><th>accuracy</th><th>overconfidence</th><th>ECE</th></tr></thead>" +
          `<tbody>${row(`with ${label}`, data.regularized)}${row("without", data.baseline)}</tbody>`;
      }
      document.body.dataset.twin = "done";
    },
    cancelled() { sentence.textContent = "Stopped."; },
    error(data) { sentence.textContent = data.message; },
  });
  reset();
  document.getElementById("twin-train").addEventListener("click", () => {
    reset();
    document.body.dataset.twin = "running";
    runner.start(demo === "overfit" ? { dataset: "moons", ...extra() } : extra());
  });
}
