// reglab lab: helpers every demo page shares (URL state, controls, jobs over SSE, copy as code).

export const COLORS = {
  train: "#1f77b4",
  val: "#d62728",
  reg: "#2ca02c",
  base: "#9467bd",
  best: "#ff7f0e",
  stop: "#444444",
};

// Two toolbar buttons only (download, reset axes): a narrow bar in the top-right corner that never
// covers a centred chart title; zoom and pan stay available by dragging.
export const PLOT_CONFIG = { displaylogo: false, responsive: true, modeBarButtons: [["toImage", "resetScale2d"]] };

// Controls are elements with data-param="name"; their values live in the URL query string.
export function controls() {
  return Array.from(document.querySelectorAll("[data-param]"));
}

function readControl(el) {
  if (el.type === "checkbox") return el.checked;
  if (el.dataset.type === "number" || el.type === "range" || el.type === "number") return Number(el.value);
  return el.value;
}

function writeControl(el, raw) {
  if (el.type === "checkbox") el.checked = raw === "true" || raw === true;
  else el.value = String(raw);
}

export function showValue(el) {
  const out = document.querySelector(`[data-show="${el.dataset.param}"]`);
  if (out) out.textContent = el.type === "checkbox" ? (el.checked ? "on" : "off") : el.value;
}

export function getParams() {
  const params = {};
  for (const el of controls()) params[el.dataset.param] = readControl(el);
  return params;
}

// Why a value from the URL cannot be used by control `el`, or null when it can.
export function rejectReason(el, raw) {
  if (el.type === "checkbox") return raw === "true" || raw === "false" ? null : "expected true or false";
  if (el.tagName === "SELECT") {
    const values = Array.from(el.options).map((o) => o.value);
    return values.includes(raw) ? null : `expected one of ${values.join(", ")}`;
  }
  if (el.type === "range" || el.type === "number" || el.dataset.type === "number") {
    const v = Number(raw);
    if (raw.trim() === "" || !Number.isFinite(v)) return "expected a number";
    const lo = el.min === "" ? -Infinity : Number(el.min);
    const hi = el.max === "" ? Infinity : Number(el.max);
    if (v < lo || v > hi) return `expected a number from ${el.min || "-∞"} to ${el.max || "∞"}`;
    if (el.type === "range" && el.step && el.step !== "any") {
      const k = (v - lo) / Number(el.step);
      if (Math.abs(k - Math.round(k)) > 1e-6) return `expected a multiple of ${el.step} from ${el.min}`;
    }
  }
  return null;
}

// Show (or clear) the notice listing the URL values that fell back to their defaults.
function showNotice(problems) {
  let box = document.getElementById("url-notice");
  if (!box) {
    box = document.createElement("div");
    box.id = "url-notice";
    box.className = "notice";
    box.setAttribute("role", "status");
    const main = document.querySelector("main");
    if (!main) return;
    main.insertBefore(box, main.querySelector(".layout") || main.firstChild);
  }
  box.hidden = problems.length === 0;
  box.textContent = problems.length ? `This link had values the page cannot use, so their defaults are shown: ${problems.join("; ")}.` : "";
}

// Fill the controls from the URL: a value a control cannot take keeps the default and is named in
// a notice above the page; then keep the URL in sync.
export function initControls(onChange, onInput) {
  const query = new URLSearchParams(window.location.search);
  const problems = [];
  const known = new Set(controls().map((el) => el.dataset.param).concat(["run"]));
  for (const key of query.keys()) if (!known.has(key)) problems.push(`${key}=${query.get(key)} (not a setting of this page)`);
  for (const el of controls()) {
    if (query.has(el.dataset.param)) {
      const raw = query.get(el.dataset.param);
      const reason = rejectReason(el, raw);
      if (reason === null) writeControl(el, raw);
      else problems.push(`${el.dataset.param}=${raw} (${reason}; using ${readControl(el)})`);
    }
    showValue(el);
    el.addEventListener("input", () => {
      showValue(el);
      syncUrl();
      if (onInput) onInput(getParams());
    });
    el.addEventListener("change", () => {
      showValue(el);
      syncUrl();
      onChange(getParams());
    });
  }
  showNotice(problems);
  syncUrl();
  return getParams();
}

// `&run=1` in a shared link starts training once the page is ready.
export function wantsRun() {
  return new URLSearchParams(window.location.search).get("run") === "1";
}

export function syncUrl() {
  const query = new URLSearchParams();
  for (const [k, v] of Object.entries(getParams())) query.set(k, String(v));
  history.replaceState(null, "", `${window.location.pathname}?${query.toString()}`);
}

export function setStatus(text, kind = "") {
  const el = document.getElementById("status");
  if (!el) return;
  el.textContent = text;
  el.className = `status ${kind}`;
}

// "Copy as code": ask the server for the snippet of the current settings.
export async function refreshCode(demo, params) {
  const box = document.getElementById("code");
  if (!box) return;
  const resp = await fetch("/api/code", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ demo, params }),
  });
  const body = await resp.json();
  box.textContent = resp.ok ? body.code : `# ${body.message || body.detail}`;
}

export function initCopyButton() {
  const button = document.getElementById("copy-code");
  if (!button) return;
  button.addEventListener("click", async () => {
    const text = document.getElementById("code").textContent;
    try {
      await navigator.clipboard.writeText(text);
      button.textContent = "Copied";
    } catch (err) {
      // No clipboard permission (e.g. plain http on another host): select the text instead.
      const range = document.createRange();
      range.selectNodeContents(document.getElementById("code"));
      window.getSelection().removeAllRanges();
      window.getSelection().addRange(range);
      button.textContent = "Selected: press Ctrl+C";
    }
    setTimeout(() => (button.textContent = "Copy"), 1500);
  });
}

// The buttons of a training page: a changed control refreshes the code and restarts a running job,
// Train calls start(), Stop (where the page has one) cancels the job.
export function initTrainButtons(demo, runner, start, reset = null) {
  const run = wantsRun();
  initControls((params) => {
    refreshCode(demo, params);
    if (runner.running) start();
  });
  initCopyButton();
  document.getElementById("train").addEventListener("click", () => start());
  const stop = document.getElementById("stop");
  if (stop) stop.addEventListener("click", () => { runner.cancel(); setStatus("Stopped."); });
  initPauseButtons(runner, reset);
  if (run) setTimeout(() => start(), 0);
}

// Pause / Step / Reset beside Train: enabled while a job runs; the job waits at an epoch's end.
function initPauseButtons(runner, reset) {
  const pause = document.getElementById("pause");
  const step = document.getElementById("step");
  const resetButton = document.getElementById("reset");
  if (!pause) return;
  const sync = () => {
    const running = runner.running;
    pause.disabled = !running;
    step.disabled = !running;
    if (!running) { pause.textContent = "Pause"; pause.setAttribute("aria-pressed", "false"); }
    document.body.dataset.paused = String(running && pause.getAttribute("aria-pressed") === "true");
  };
  setInterval(sync, 200);
  pause.addEventListener("click", async () => {
    const paused = pause.getAttribute("aria-pressed") === "true";
    const status = await runner.control(paused ? "resume" : "pause");
    if (!status) return;
    pause.setAttribute("aria-pressed", String(status.paused));
    pause.textContent = status.paused ? "Resume" : "Pause";
    setStatus(status.paused ? "Paused after the current epoch: Step trains one more, Resume goes on." : "Training…");
    sync();
  });
  step.addEventListener("click", async () => {
    const status = await runner.control("step");
    if (!status) return;
    pause.setAttribute("aria-pressed", "true");
    pause.textContent = "Resume";
    setStatus("One more epoch, then paused.");
    sync();
  });
  if (resetButton) resetButton.addEventListener("click", () => {
    runner.cancel();
    if (reset) reset();
    document.body.dataset.state = "reset";
    setStatus("Reset: the model is discarded; Train starts again from its initial weights.");
    sync();
  });
}

// A training job: POST it, follow its Server-Sent Events, cancel it on demand or when leaving.
export class JobRunner {
  constructor(demo, handlers) {
    this.demo = demo;
    this.handlers = handlers; // {start, epoch, stop, done, cancelled, error}
    this.source = null;
    this.jobId = null;
    this.generation = 0;
    window.addEventListener("pagehide", () => this.cancel());
  }

  get running() {
    return this.source !== null;
  }

  cancel() {
    if (this.source) {
      this.source.close();
      this.source = null;
    }
    if (this.jobId) {
      const id = this.jobId;
      this.jobId = null;
      fetch(`/api/jobs/${id}`, { method: "DELETE", keepalive: true }).catch(() => {});
    }
  }

  // Pause after the current epoch, resume, or train one more epoch ("step").
  async control(action) {
    if (!this.jobId) return null;
    const resp = await fetch(`/api/jobs/${this.jobId}/control`, {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ action }),
    });
    return resp.ok ? resp.json() : null;
  }

  async start(params) {
    this.cancel();
    const generation = ++this.generation;
    let resp;
    for (let attempt = 0; attempt < 20; attempt++) {
      resp = await fetch("/api/jobs", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ demo: this.demo, params }),
      });
      if (resp.status !== 429) break;
      await new Promise((r) => setTimeout(r, 250)); // a cancelled job frees its slot after its epoch
      if (generation !== this.generation) return;
    }
    const body = await resp.json();
    if (generation !== this.generation) {
      if (resp.ok) fetch(`/api/jobs/${body.id}`, { method: "DELETE" }).catch(() => {});
      return;
    }
    if (!resp.ok) {
      this.handlers.error?.({ message: body.message || body.detail || `HTTP ${resp.status}` });
      return;
    }
    this.jobId = body.id;
    const source = new EventSource(body.events);
    this.source = source;
    const on = (name, finish) =>
      source.addEventListener(name, (ev) => {
        if (this.source !== source) return;
        const data = JSON.parse(ev.data);
        if (finish) {
          source.close();
          this.source = null;
          this.jobId = null;
        }
        this.handlers[name]?.(data);
      });
    on("start", false);
    on("epoch", false);
    on("stop", false);
    on("teacher", false);
    on("done", true);
    on("cancelled", true);
    on("error", true);
    source.onerror = () => {
      if (this.source === source && source.readyState === EventSource.CLOSED) {
        this.source = null;
        this.handlers.error?.({ message: "The connection to the lab server was lost." });
      }
    };
  }
}

// Batches streamed points into one chart update per animation frame.
export class Batcher {
  constructor(flush) {
    this.flush = flush;
    this.items = [];
    this.pending = false;
  }
  push(item) {
    this.items.push(item);
    if (!this.pending) {
      this.pending = true;
      requestAnimationFrame(() => {
        this.pending = false;
        this.flushNow();
      });
    }
  }
  // Draw whatever is pending now (a job's last event calls this before it reports "done").
  flushNow() {
    const items = this.items;
    this.items = [];
    if (items.length) this.flush(items);
  }
}

export function fmt(x, digits = 3) {
  return x === null || x === undefined ? "–" : Number(x).toFixed(digits);
}

// Decision-boundary heatmap with the training points on top.
export function boundaryTraces(grid, boundary, points, numClasses) {
  const binary = boundary.kind === "prob";
  const heat = {
    type: "heatmap",
    x: grid.x,
    y: grid.y,
    z: boundary.z,
    zmin: 0,
    zmax: binary ? 1 : numClasses - 1,
    colorscale: binary ? [[0, "#6baed6"], [0.5, "#f7f7f7"], [1, "#fd8d3c"]] : "Portland",
    opacity: 0.75,
    showscale: false,
    hoverinfo: "skip",
  };
  const traces = [heat];
  if (points) {
    traces.push({
      type: "scatter",
      mode: "markers",
      x: points.train.x,
      y: points.train.y,
      marker: {
        size: 5,
        color: points.train.label,
        cmin: 0,
        cmax: Math.max(1, numClasses - 1),
        colorscale: binary ? [[0, "#08519c"], [1, "#a63603"]] : "Portland",
        line: { width: 0.5, color: "white" },
      },
      name: "train",
      hoverinfo: "skip",
    });
  }
  return traces;
}

export const HEATMAP_LAYOUT = {
  margin: { l: 30, r: 10, t: 30, b: 30 },
  xaxis: { showgrid: false, zeroline: false },
  yaxis: { showgrid: false, zeroline: false, scaleanchor: "x" },
  showlegend: false,
};

/** Draw an 8x8 image (rows of values) as a grey canvas with a caption, appended to `container`. */
export function drawDigit(container, image, caption) {
  const fig = document.createElement("figure");
  const canvas = document.createElement("canvas");
  canvas.width = 8;
  canvas.height = 8;
  const ctx = canvas.getContext("2d");
  const flat = image.flat();
  const lo = Math.min(...flat), hi = Math.max(...flat);
  image.forEach((row, i) => row.forEach((v, j) => {
    const g = Math.round(255 * (1 - (v - lo) / (hi - lo || 1)));
    ctx.fillStyle = `rgb(${g},${g},${g})`;
    ctx.fillRect(j, i, 1, 1);
  }));
  const cap = document.createElement("figcaption");
  cap.textContent = caption;
  fig.append(canvas, cap);
  container.appendChild(fig);
}
