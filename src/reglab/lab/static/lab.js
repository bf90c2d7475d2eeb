// reglab lab: helpers every demo page shares (URL state, controls, jobs over SSE, copy as code).

export const COLORS = {
  train: "#1f77b4",
  val: "#d62728",
  reg: "#2ca02c",
  base: "#9467bd",
  best: "#ff7f0e",
  stop: "#444444",
};

export const PLOT_CONFIG = { displaylogo: false, responsive: true, modeBarButtonsToRemove: ["lasso2d", "select2d"] };

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

// Fill the controls from the URL (unknown values are ignored), then keep the URL in sync.
export function initControls(onChange, onInput) {
  const query = new URLSearchParams(window.location.search);
  for (const el of controls()) {
    if (query.has(el.dataset.param)) writeControl(el, query.get(el.dataset.param));
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
  syncUrl();
  return getParams();
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
export function initTrainButtons(demo, runner, start) {
  initControls((params) => {
    refreshCode(demo, params);
    if (runner.running) start();
  });
  initCopyButton();
  document.getElementById("train").addEventListener("click", () => start());
  const stop = document.getElementById("stop");
  if (stop) stop.addEventListener("click", () => { runner.cancel(); setStatus("Stopped."); });
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
