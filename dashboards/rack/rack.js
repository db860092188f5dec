// The rack view: each host a rack, each node a section, each app a 1U unit with a flip side.
// Plain ES module, no dependencies. The first snapshot comes in model.snapshot (field names + rows);
// afterwards Python sends {type: "delta", set, add, remove, kinds} messages that are applied in place:
// only the elements of the changed fields are touched. Clicks go back as {type: "action", action, id}.

const ACTIONS = ["start", "stop", "restart", "backup", "delete", "open"];
const ACTION_LABELS = { start: "▶", stop: "■", restart: "↻", backup: "⛁", delete: "✕", open: "↗" };
const BARS = [["cpu", "CPU"], ["mem", "RAM"], ["disk", "DISK"]];
const WARN_FROM = 70;
const CRIT_FROM = 90;
const ABSENT = "—";
const PENDING_HOST = "(placing)";

const STATES = new WeakMap();  // model -> {fields, units: Map(id -> unit), kinds}

const ESCAPES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
function esc(value) {
  return String(value).replace(/[&<>"']/g, (c) => ESCAPES[c]);
}
function shown(value, suffix = "") {
  return value === null || value === undefined || value === "" ? ABSENT : esc(value) + suffix;
}
function safeUrl(url) {
  // only web links become hrefs (a catalog URL can never run script in the page)
  return typeof url === "string" && /^https?:\/\//i.test(url) ? url : null;
}
function level(value) {
  if (value === null || value === undefined) return "none";
  if (value >= CRIT_FROM) return "crit";
  if (value >= WARN_FROM) return "warn";
  return "ok";
}
function cssIdent(value) {
  return String(value).replace(/["\\]/g, "\\$&");
}

// ------------------------------------------------------------------ state

function stateFrom(snapshot) {
  const fields = (snapshot && snapshot.fields) || [];
  const units = new Map();
  for (const row of (snapshot && snapshot.rows) || []) {
    const unit = unitFromRow(fields, row);
    units.set(unit.id, unit);
  }
  return { fields, units, kinds: { ...((snapshot && snapshot.kinds) || {}) } };
}
function unitFromRow(fields, row) {
  const unit = {};
  fields.forEach((field, i) => { unit[field] = row[i]; });
  return unit;
}

// ------------------------------------------------------------------ markup

function barWidth(value) {
  return value === null || value === undefined ? 0 : Math.max(0, Math.min(100, value));
}
function barHtml(metric, label, value) {
  return `<span class="bar" data-metric="${metric}" data-level="${level(value)}" data-testid="bar-${metric}">` +
    `<em>${label}</em><span class="track"><i style="width:${barWidth(value)}%"></i></span>` +
    `<b>${shown(value, "%")}</b></span>`;
}
const SHEET = [
  ["VMID", "vmid", (u) => shown(u.vmid)],
  ["node", "node", (u) => shown(u.node)],
  ["IP", "ip", (u) => shown(u.ip)],
  ["cores", "cores", (u) => shown(u.cores)],
  ["memory", "memory_mb", (u) => shown(u.memory_mb, " MiB")],
  ["disk", "disk_gb", (u) => shown(u.disk_gb, " GiB")],
  ["ports", "ports", (u) => (u.ports && u.ports.length ? esc(u.ports.join(", ")) : ABSENT)],
  ["paths", "paths", (u, k) => (k.paths && k.paths.length ? esc(k.paths.join(", ")) : ABSENT)],
  ["last backup", "last_backup", (u) => shown(u.last_backup)],
];
function sheetHtml(unit, kind) {
  return SHEET.map(([label, field, value]) =>
    `<span class="sheet-item"><em>${label}</em><span data-field="${field}">${value(unit, kind)}</span></span>`).join("");
}
function urlHtml(url) {
  const href = safeUrl(url);
  return href ? `<a class="url" href="${esc(href)}" target="_blank" rel="noopener noreferrer">${esc(url)}</a>`
    : `<span class="url">${ABSENT}</span>`;
}
function iconHtml(kind, loadIcons) {
  const src = loadIcons ? safeUrl(kind.icon) : null;
  const img = src ? `<img src="${esc(src)}" alt="" loading="lazy" referrerpolicy="no-referrer">` : "";
  return `<span class="icon" style="--tile:${esc(kind.color || "#607d8b")}"><span class="glyph">${esc(kind.glyph || "?")}</span>${img}</span>`;
}
function unitHtml(unit, kind, loadIcons) {
  const id = esc(unit.id);
  const buttons = ACTIONS.map((a) =>
    `<button type="button" class="act act-${a}" data-action="${a}" title="${a} ${id}" aria-label="${a} ${id}">${ACTION_LABELS[a]}</button>`
  ).join("");
  return `<div class="unit" data-id="${id}" data-testid="unit-${id}">` +
    `<div class="unit-inner">` +
    `<div class="face front">` +
    `<span class="led" data-testid="led-${id}" data-status="${esc(unit.status)}" title="${esc(unit.status)}"></span>` +
    iconHtml(kind, loadIcons) +
    `<span class="ident"><span class="name">${id}</span><span class="where" data-field="where">${shown(unit.node)}</span></span>` +
    urlHtml(unit.url) +
    `<span class="bars">${BARS.map(([m, l]) => barHtml(m, l, unit[m])).join("")}</span>` +
    `<span class="actions">${buttons}</span>` +
    `<button type="button" class="flip" data-flip="1" title="technical sheet" aria-label="technical sheet of ${id}">⟲</button>` +
    `</div>` +
    `<div class="face back" aria-hidden="true">` +
    `<span class="sheet-title">${id}</span><span class="sheet">${sheetHtml(unit, kind)}</span>` +
    `<button type="button" class="flip" data-flip="1" title="front" aria-label="front of ${id}">⟲</button>` +
    `</div></div></div>`;
}
function sectionKey(unit) {
  return `${unit.host || PENDING_HOST}\u0000${unit.node || ""}`;
}

// ------------------------------------------------------------------ the view

class Rack {
  constructor(model, el) {
    this.model = model;
    this.root = document.createElement("div");
    this.root.className = "px-rack";
    this.root.dataset.theme = model.theme;
    el.appendChild(this.root);
    this.root.addEventListener("click", (event) => this.onClick(event));
    // an icon that cannot load (offline, gone) leaves the glyph tile underneath visible
    this.root.addEventListener("error", (event) => {
      if (event.target.tagName === "IMG") event.target.dataset.broken = "1";
    }, true);
  }

  get state() { return STATES.get(this.model); }

  build() {
    const { units, kinds } = this.state;
    const racks = new Map();  // host -> node -> [unit]
    for (const unit of units.values()) {
      const host = unit.host || PENDING_HOST;
      if (!racks.has(host)) racks.set(host, new Map());
      const nodes = racks.get(host);
      const node = unit.node || "";
      if (!nodes.has(node)) nodes.set(node, []);
      nodes.get(node).push(unit);
    }
    const loadIcons = this.model.load_icons;
    const html = [...racks.keys()].sort().map((host) => {
      const nodes = racks.get(host);
      const sections = [...nodes.keys()].sort().map((node) => {
        const list = nodes.get(node).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
        return this.sectionHtml(host, node, list.map((u) => unitHtml(u, kinds[u.catalog] || {}, loadIcons)).join(""));
      }).join("");
      return this.rackHtml(host, sections);
    }).join("");
    this.root.innerHTML = `<div class="legend" data-testid="rack-legend"></div><div class="racks">${html}</div>`;
    this.racks = this.root.querySelector(".racks");
    this.elements = new Map();
    for (const el of this.root.querySelectorAll(".unit")) this.elements.set(el.dataset.id, el);
    this.refreshLegend();
  }

  rackHtml(host, sections) {
    return `<section class="rack" data-host="${esc(host)}"><header class="rack-head">${esc(host)}</header>${sections}</section>`;
  }
  sectionHtml(host, node, units) {
    return `<div class="node" data-host="${esc(host)}" data-node="${esc(node)}">` +
      `<div class="node-head">${esc(node || "—")}</div><div class="units">${units}</div></div>`;
  }

  refreshLegend() {
    const counts = {};
    for (const unit of this.state.units.values()) counts[unit.status] = (counts[unit.status] || 0) + 1;
    const parts = Object.keys(counts).sort().map((status) =>
      `<span class="legend-item"><span class="led" data-status="${esc(status)}"></span>${esc(status)} <b data-count="${esc(status)}">${counts[status]}</b></span>`);
    this.root.querySelector(".legend").innerHTML =
      `<span class="legend-total">${this.state.units.size} apps</span>${parts.join("")}`;
  }

  // -------------------------------------------------------------- deltas

  apply(delta) {
    const state = this.state;
    Object.assign(state.kinds, delta.kinds || {});
    for (const id of delta.remove || []) {
      state.units.delete(id);
      const el = this.elements.get(id);
      this.elements.delete(id);
      if (el) this.detach(el);
    }
    for (const row of delta.add || []) {
      const unit = unitFromRow(state.fields, row);
      const old = this.elements.get(unit.id);
      if (old) this.detach(old);
      state.units.set(unit.id, unit);
      const holder = document.createElement("div");
      holder.innerHTML = unitHtml(unit, state.kinds[unit.catalog] || {}, this.model.load_icons);
      this.place(holder.firstChild, unit);
    }
    for (const [id, changes] of Object.entries(delta.set || {})) {
      const unit = state.units.get(id);
      const el = this.elements.get(id);
      if (!unit || !el) continue;
      const moved = sectionKey(unit) !== sectionKey({ ...unit, ...changes });
      Object.assign(unit, changes);
      this.patch(el, unit, changes);
      if (moved) { this.detach(el); this.place(el, unit); }
    }
    this.refreshLegend();
  }

  patch(el, unit, changes) {
    const kind = this.state.kinds[unit.catalog] || {};
    for (const field of Object.keys(changes)) {
      if (field === "status") {
        const led = el.querySelector(".front .led");
        led.dataset.status = unit.status;
        led.title = unit.status;
      } else if (field === "cpu" || field === "mem" || field === "disk") {
        const bar = el.querySelector(`.bar[data-metric="${field}"]`);
        const value = unit[field];
        bar.dataset.level = level(value);
        bar.querySelector("i").style.width = `${barWidth(value)}%`;
        bar.querySelector("b").innerHTML = shown(value, "%");
      } else if (field === "url") {
        el.querySelector(".front .url").outerHTML = urlHtml(unit.url);
      } else if (field === "node") {
        el.querySelector('[data-field="where"]').innerHTML = shown(unit.node);
        el.querySelector('.sheet [data-field="node"]').innerHTML = shown(unit.node);
      } else if (field === "catalog") {
        el.querySelector(".icon").outerHTML = iconHtml(kind, this.model.load_icons);
        el.querySelector(".sheet").innerHTML = sheetHtml(unit, kind);
      } else {
        const row = SHEET.find(([, name]) => name === field);
        const cell = el.querySelector(`.sheet [data-field="${field}"]`);
        if (row && cell) cell.innerHTML = row[2](unit, kind);
      }
    }
  }

  place(el, unit) {
    const host = unit.host || PENDING_HOST;
    const node = unit.node || "";
    let rack = this.racks.querySelector(`.rack[data-host="${cssIdent(host)}"]`);
    if (!rack) {
      const holder = document.createElement("div");
      holder.innerHTML = this.rackHtml(host, "");
      rack = holder.firstChild;
      const next = [...this.racks.children].find((r) => r.dataset.host > host);
      this.racks.insertBefore(rack, next || null);
    }
    let section = rack.querySelector(`.node[data-node="${cssIdent(node)}"]`);
    if (!section) {
      const holder = document.createElement("div");
      holder.innerHTML = this.sectionHtml(host, node, "");
      section = holder.firstChild;
      const next = [...rack.querySelectorAll(".node")].find((s) => s.dataset.node > node);
      rack.insertBefore(section, next || null);
    }
    const list = section.querySelector(".units");
    const next = [...list.children].find((u) => u.dataset.id > unit.id);
    list.insertBefore(el, next || null);
    this.elements.set(unit.id, el);
  }

  detach(el) {
    const section = el.closest(".node");
    el.remove();
    if (section && !section.querySelector(".unit")) {
      const rack = section.closest(".rack");
      section.remove();
      if (rack && !rack.querySelector(".unit")) rack.remove();
    }
  }

  // -------------------------------------------------------------- clicks

  onClick(event) {
    const target = event.target.closest("button");
    if (!target || !this.root.contains(target)) return;
    const unitEl = target.closest(".unit");
    if (!unitEl) return;
    if (target.dataset.flip) {
      if (!unitEl.classList.contains("flip3d")) {
        unitEl.classList.add("flip3d");
        void unitEl.offsetWidth;  // lay the 3D faces out before the rotation starts, so it animates
      }
      const flipped = unitEl.classList.toggle("flipped");
      unitEl.querySelector(".back").setAttribute("aria-hidden", flipped ? "false" : "true");
      unitEl.querySelector(".front").setAttribute("aria-hidden", flipped ? "true" : "false");
      return;
    }
    const action = target.dataset.action;
    if (!ACTIONS.includes(action)) return;
    const id = unitEl.dataset.id;
    this.model.send_msg({ type: "action", action, id });
    if (action === "open") {
      const unit = this.state.units.get(id);
      const href = unit && safeUrl(unit.url);
      if (href) window.open(href, "_blank", "noopener,noreferrer");
    }
  }
}

export function render({ model, el }) {
  // the applied state is kept per model, so a re-render of this view keeps the deltas already applied
  if (!STATES.has(model)) STATES.set(model, stateFrom(model.snapshot));
  const rack = new Rack(model, el);
  rack.build();
  model.on("msg:custom", (message) => {
    if (message && message.type === "delta") rack.apply(message);
  });
  model.on("snapshot", () => {
    STATES.set(model, stateFrom(model.snapshot));
    rack.build();
  });
  model.on("theme", () => { rack.root.dataset.theme = model.theme; });
  model.on("load_icons", () => rack.build());
}
