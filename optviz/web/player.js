/*
 * optviz race player: optimizer paths racing over a loss landscape, drawn with plotly.js
 * and animated by its own requestAnimationFrame loop (never Plotly.animate, never frames).
 *
 * Host-agnostic: a plain script (no import / export) that defines
 *   globalThis.OptvizPlayer = { mount(root, payload, host) -> { update(payload), destroy() } }
 * It is inlined in the offline HTML export and imported for its side effect by the Streamlit
 * component adapter. It expects globalThis.Plotly. The payload is built by
 * optviz/figures/player.py (race_payload, version 1).
 *
 * host.onStart(event), optional: event = {action: "set"|"add"|"move"|"remove", index, x, y,
 * final}. Without it, clicks and drags on the plot do nothing (hover still works).
 *
 * host.onStep(event), optional: event = {track, step}. Only while payload.inspect is set
 * ({track, step, glyphs, label}, not part of the token) and the player is paused: the shown
 * step changed (debounced, STEP_MS), so the host may answer with update(payload) carrying the
 * same token and inspect = {track, step, glyphs: step_glyphs(...)} for that step. step is
 * never payload.steps (the step k -> k + 1 needs k + 1: the last one asked is steps - 1).
 * The player is the only one that asks (a host never needs to). Answers are kept by track
 * and step, so one that arrives late, out of order or twice never hides the glyphs of the
 * shown step (a step answered before shows its kept glyphs at once and is asked again, for
 * glyphs switched on or off since); an ask that got no answer for that track and step is
 * repeated (ASK_RETRY_MS, at most ASK_TRIES in all).
 *
 * The "3D" button shows base.surface3d as a Plotly surface with the paths (z = f) and heads on
 * it, driven by the same loop (LOSS_MS apart while playing, at once on a seek).
 *
 * Start-cloud mode: a payload with `cloud` (optviz/figures/cloud.py cloud_payload, no tracks)
 * draws one scattergl marker trace of up to 10,000 particles, restyled per frame by the same
 * loop; payload.steps counts frames - 1, so slider, ±1, keys and Play run over frames, and the
 * readout shows cloud.steps[frame] (root data-frame-step). No loss chart, no 3D view, no start
 * editing (root data-mode="cloud"; player.css hides those controls under .ovp-cloud).
 */
(function () {
  "use strict";

  var MAX_DRAWN = 1500; // path points drawn per track, at most (plus the current step)
  var DRAG_PX = 12; // a mousedown this close to a start marker drags it
  var MOVE_MS = 150; // at most one "move" event per this many ms while dragging
  var CLICK_PX = 4; // a mouse that moved less than this between down and up clicked
  var WIDE_PX = 1100; // race and loss chart side by side from this root width on
  var LOSS_MS = 100; // while playing, the loss chart is redrawn at most this often
  var STEP_MS = 150; // host.onStep follows the shown step this long after it stops changing
  var THREE_MS = 100; // while playing, the 3D view is redrawn at most this often
  var CLOUD_MISSING = 65535; // the start cloud's code of a diverged particle
  var CLOUD_ABOVE_PX = 72; // a start cloud fits the window less this (it sits low on a page)
  var ASK_RETRY_MS = 4000; // an unanswered host.onStep is asked again after this long ...
  var ASK_TRIES = 3; // ... at most this many times in all
  var KEPT_ANSWERS = 32; // glyph answers kept per race (by track and step)
  /** Glyph colours (distinct from the runs' palette), in legend order. */
  var GLYPH_COLORS = ["#111111", "#e6007e", "#ff8c00", "#00a693", "#6a3d9a", "#b15928",
                      "#1e90ff", "#9acd32", "#8b0000", "#708090"];
  var CAMERAS = {
    "default": { eye: { x: -1.35, y: -1.55, z: 1.05 }, up: { x: 0, y: 0, z: 1 },
                 center: { x: 0, y: 0, z: -0.12 } },
    top: { eye: { x: 0, y: 0, z: 2.3 }, up: { x: 0, y: 1, z: 0 }, center: { x: 0, y: 0, z: 0 } },
    side: { eye: { x: 0, y: -2.4, z: 0.12 }, up: { x: 0, y: 0, z: 1 },
            center: { x: 0, y: 0, z: 0 } },
  };

  function plotly() {
    return globalThis.Plotly;
  }

  /* ------------------------------------------------------------------ data */

  /** {dtype: "f8"|"f4", b64} -> Float64Array / Float32Array (little-endian). */
  function decode(arr) {
    var bin = atob(arr.b64);
    var bytes = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    return arr.dtype === "f4" ? new Float32Array(bytes.buffer) : new Float64Array(bytes.buffer);
  }

  /** Text safe inside plotly's HTML-like labels and hover templates. */
  function escapeLabel(text) {
    return String(text)
      .replace(/&/g, "&amp;")
      .replace(/</g, "&lt;")
      .replace(/>/g, "&gt;")
      .replace(/%\{/g, "%&#123;");
  }

  /** A stable id for a name, safe in a CSS class (plotly puts uids there): FNV-1a, hex. */
  function hashName(text) {
    var h = 0x811c9dc5;
    for (var i = 0; i < text.length; i++) {
      h ^= text.charCodeAt(i);
      h = Math.imul(h, 0x01000193) >>> 0;
    }
    return h.toString(16);
  }

  /** A number for a label: 5 significant digits, "—" when missing or not finite. */
  function fmtNum(v) {
    if (v === null || v === undefined || !isFinite(v)) return "—";
    var a = Math.abs(v);
    var t = a !== 0 && (a >= 1e5 || a < 1e-4) ? v.toExponential(4) : v.toPrecision(5);
    return t.indexOf("e") < 0 && t.indexOf(".") >= 0 ? t.replace(/\.?0+$/, "") : t;
  }

  /** A number (or NaN) as a plain value for customdata: null when not finite. */
  function num(v) {
    return isFinite(v) ? v : null;
  }

  /**
   * One track, ready to draw: decoded arrays and, for its decimated steps (every stride-th
   * step up to its last finite one), the x / y / hover rows, built once.
   */
  function prepareTrack(t) {
    var xy = decode(t.xy);
    var loss = decode(t.loss);
    var curve = decode(t.curve);
    var gnorm = decode(t.gnorm);
    var last = t.last;
    var stride = Math.max(1, Math.ceil((last + 1) / MAX_DRAWN));
    var steps = [], xs = [], ys = [], rows = [], cx = [], cy = [];
    var gxy = t.grad_point ? decode(t.grad_point) : null; // schedule-free: the ghost path y
    var gxs = [], gys = [];
    for (var k = 0; k <= last; k += stride) {
      steps.push(k);
      xs.push(xy[2 * k]);
      ys.push(xy[2 * k + 1]);
      rows.push([k, num(loss[k]), num(gnorm[k])]);
      if (gxy) {
        gxs.push(num(gxy[2 * k]));
        gys.push(num(gxy[2 * k + 1]));
      }
    }
    var cstride = Math.max(1, Math.ceil(curve.length / MAX_DRAWN));
    for (var j = 0; j < curve.length; j += cstride) {
      cx.push(j);
      cy.push(num(curve[j]));
    }
    return {
      meta: t, xy: xy, loss: loss, curve: curve, gnorm: gnorm, last: last, stride: stride,
      steps: steps, xs: xs, ys: ys, rows: rows, cx: cx, cy: cy, cstride: cstride,
      gxy: gxy, gxs: gxs, gys: gys,
    };
  }

  /** A schedule-free track's gradient points y at step k, decimated as pathAt (null where
   *  there is none: y_k exists for the steps taken, not for the last one). */
  function ghostAt(tr, k) {
    var s = Math.min(k, tr.last);
    if (s < 0 || !tr.gxy) return { x: [], y: [], rows: [] };
    var n = Math.floor(s / tr.stride) + 1;
    var x = tr.gxs.slice(0, n), y = tr.gys.slice(0, n);
    var rows = tr.steps.slice(0, n).map(function (j) { return [j]; });
    if (tr.steps[n - 1] !== s) {
      x.push(num(tr.gxy[2 * s]));
      y.push(num(tr.gxy[2 * s + 1]));
      rows.push([s]);
    }
    return { x: x, y: y, rows: rows };
  }

  /** Drawn points of a track at step k: decimated steps <= k, then exactly min(k, last). */
  function pathAt(tr, k) {
    var s = Math.min(k, tr.last);
    if (s < 0) return { x: [], y: [], rows: [] };
    var n = Math.floor(s / tr.stride) + 1; // decimated steps 0, stride, .. <= s
    var x = tr.xs.slice(0, n), y = tr.ys.slice(0, n), rows = tr.rows.slice(0, n);
    if (tr.steps[n - 1] !== s) {
      x.push(tr.xy[2 * s]);
      y.push(tr.xy[2 * s + 1]);
      rows.push([s, num(tr.loss[s]), num(tr.gnorm[s])]);
    }
    return { x: x, y: y, rows: rows };
  }

  /** The loss curve of a track up to step k (k = Infinity: all of it). */
  function curveAt(tr, k) {
    var s = Math.min(k, tr.curve.length - 1);
    var n = Math.floor(s / tr.cstride) + 1;
    var x = tr.cx.slice(0, n), y = tr.cy.slice(0, n);
    if (x[n - 1] !== s && s >= 0) {
      x.push(s);
      y.push(num(tr.curve[s]));
    }
    return { x: x, y: y };
  }

  /* ------------------------------------------------------------------ traces */

  function hoverTemplate(t, several) {
    return (
      "<b>" + escapeLabel(t.name) + "</b>" +
      (several ? "<br>start " + (t.start + 1) : "") +
      "<br>step %{customdata[0]}<br>x=%{x:.6g}, y=%{y:.6g}" +
      (t.grad_point ? "<br>the reported point x (its gradients are taken at y)" : "") +
      "<br>f=%{customdata[1]:.6g}<br>|∇f|=%{customdata[2]:.6g}<extra></extra>"
    );
  }

  /**
   * The race figure's traces: landscape traces of the base (below), paths, the traces the
   * base marks meta "above" (minima, saddles), start markers, then one head per track.
   * Glyph traces (step inspector) go between those and the start markers.
   * A schedule-free track's gradient points y (its ghost path) go just above the paths.
   * Returns {data, pathIds, headIds, startId, glyphIds, glyphNames, ghostIds} (ghostIds[i]:
   * -1 for a track without one).
   */
  function raceTraces(payload, tracks, glyphs) {
    var style = payload.style;
    var below = [], above = [];
    payload.base.data.forEach(function (tr) {
      if (tr.name === "colorbar") return; // drawn as HTML by drawColorbar (much cheaper)
      (tr.meta === "above" ? above : below).push(tr);
    });
    var data = below.slice();
    var pathIds = [], headIds = [];
    tracks.forEach(function (tr, i) {
      var t = tr.meta;
      pathIds.push(data.length);
      data.push({
        type: "scatter", mode: "lines", x: [], y: [], customdata: [], name: t.legend,
        legendgroup: "g:" + t.legend, showlegend: t.show_legend,
        line: { color: t.color, width: style.line_width },
        hovertemplate: hoverTemplate(t, payload.several_starts), uid: "path" + i,
      });
    });
    var ghostIds = [];
    tracks.forEach(function (tr, i) {
      var t = tr.meta;
      if (!tr.gxy) {
        ghostIds.push(-1);
        return;
      }
      ghostIds.push(data.length);
      data.push({
        type: "scatter", mode: "lines", x: [], y: [], customdata: [], name: t.ghost_legend,
        legendgroup: "ghost:" + t.legend, showlegend: t.show_legend, opacity: 0.6,
        line: { color: t.color, width: Math.max(1, 0.6 * style.line_width), dash: "dot" },
        hovertemplate: "<b>" + escapeLabel(t.name) + "</b> · gradient point y" +
          (payload.several_starts ? "<br>start " + (t.start + 1) : "") +
          "<br>step %{customdata[0]}<br>x=%{x:.6g}, y=%{y:.6g}<extra></extra>",
        uid: "ghost" + i,
      });
    });
    data = data.concat(above);
    var glyphIds = [], glyphNames = [];
    (glyphs || []).forEach(function (g) {
      glyphIds.push(data.length);
      glyphNames.push(g.legendgroup.slice(6));
      data.push(g);
    });
    var startId = data.length;
    data.push({
      type: "scatter", mode: "markers", name: "start", showlegend: false,
      x: payload.starts.map(function (p) { return p[0]; }),
      y: payload.starts.map(function (p) { return p[1]; }),
      marker: { symbol: "circle", size: style.start_size, color: "#222",
                line: { color: "white", width: 2.5 } },
      hovertemplate: "start<br>x=%{x:.6g}, y=%{y:.6g}<extra></extra>", uid: "starts",
    });
    tracks.forEach(function (tr, i) {
      var t = tr.meta;
      headIds.push(data.length);
      data.push({
        type: "scatter", mode: "markers", x: [], y: [], customdata: [], name: t.legend,
        legendgroup: "g:" + t.legend, showlegend: false,
        marker: { symbol: t.symbol, size: style.head_size, color: t.color,
                  line: { color: "white", width: 1.5 } },
        hovertemplate: hoverTemplate(t, payload.several_starts), uid: "head" + i,
      });
    });
    return { data: data, pathIds: pathIds, headIds: headIds, startId: startId,
             glyphIds: glyphIds, glyphNames: glyphNames, ghostIds: ghostIds };
  }

  /**
   * The step inspector's traces for glyphs = step_glyphs(...) output: one scatter per arrow
   * (a line with an arrow head at its tip), box (closed rectangle) and ellipse (closed
   * polyline, dashed at a saddle), each its own legend entry (legendgroup "glyph:" + name,
   * stable uid); hidden = {name: true} for those switched off in the legend.
   */
  function glyphTraces(glyphs, classroom, hidden) {
    var order = (glyphs.legend || []).map(function (e) { return e.name; });
    var width = classroom ? 4 : 2.5;
    var out = [];
    function color(name) {
      var i = order.indexOf(name);
      return GLYPH_COLORS[(i < 0 ? out.length : i) % GLYPH_COLORS.length];
    }
    function base(name, x, y, hover) {
      return {
        type: "scatter", x: x, y: y, name: name, legendgroup: "glyph:" + name,
        showlegend: true, uid: "glyph" + hashName(name), hoverlabel: { namelength: -1 },
        visible: hidden[name] ? "legendonly" : true,
        hovertemplate: "<b>" + escapeLabel(name) + "</b><br>" + hover + "<extra></extra>",
      };
    }
    (glyphs.arrows || []).forEach(function (a) {
      var p = a.points;
      if (!p || p.some(function (v) { return v === null || !isFinite(v); })) return;
      var v = a.vector || [null, null];
      var tr = base(a.name, [p[0], p[2]], [p[1], p[3]],
        "(" + fmtNum(v[0]) + ", " + fmtNum(v[1]) + ")" +
        (a.scale !== 1 ? "<br>drawn ×" + fmtNum(a.scale) : ""));
      var c = color(a.name);
      tr.mode = "lines+markers";
      tr.line = { color: c, width: width };
      tr.marker = { color: c, symbol: ["circle", "arrow"], angleref: "previous",
                    size: [0, classroom ? 16 : 12] };
      out.push(tr);
    });
    (glyphs.boxes || []).forEach(function (b) {
      var h = b.half_widths, c0 = b.center;
      if (!h || h[0] === null || h[1] === null) return;
      var x0 = c0[0] - h[0], x1 = c0[0] + h[0], y0 = c0[1] - h[1], y1 = c0[1] + h[1];
      var v = b.values || [null, null];
      var tr = base(b.name, [x0, x1, x1, x0, x0], [y0, y0, y1, y1, y0],
        "per coordinate (" + fmtNum(v[0]) + ", " + fmtNum(v[1]) + ")<br>drawn ×" +
        fmtNum(b.scale));
      tr.mode = "lines";
      tr.line = { color: color(b.name), width: width };
      out.push(tr);
    });
    (glyphs.ellipses || []).forEach(function (e) {
      var pts = (e.points || []).concat(e.points && e.points.length ? [e.points[0]] : []);
      var lam = e.eigenvalues || [];
      var neg = (e.negative || []).some(Boolean);
      var tr = base(e.name, pts.map(function (q) { return q[0]; }),
        pts.map(function (q) { return q[1]; }),
        "λ = (" + lam.map(fmtNum).join(", ") + ")" + (neg ? " (saddle)" : "") +
        "<br>drawn ×" + fmtNum(e.scale));
      tr.mode = "lines";
      tr.line = { color: color(e.name), width: width, dash: neg ? "dash" : "solid" };
      out.push(tr);
    });
    return out;
  }

  /** The loss chart's traces: one curve per track, then the cursor (last). */
  function lossTraces(payload, tracks) {
    var data = tracks.map(function (tr, i) {
      var t = tr.meta;
      return {
        type: "scatter", mode: "lines", x: [], y: [], name: t.legend,
        legendgroup: "g:" + t.legend, showlegend: false,
        line: { color: t.color, width: payload.classroom ? 2.8 : 1.8 },
        hovertemplate: "<b>" + escapeLabel(t.name) + "</b><br>step %{x}<br>%{y:.6g}<extra></extra>",
        uid: "curve" + i,
      };
    });
    data.push({
      type: "scatter", mode: "lines", x: [0, 0], y: [0, 1], yaxis: "y2", name: "step",
      showlegend: false, hoverinfo: "skip", line: { color: "#555", width: 1, dash: "dash" },
      uid: "cursor",
    });
    return data;
  }

  function lossLayout(payload) {
    var layout = JSON.parse(JSON.stringify(payload.loss_layout));
    // the cursor's own axis: 0..1 over the whole plot height, whatever the y scale
    layout.yaxis2 = { overlaying: "y", range: [0, 1], fixedrange: true, visible: false };
    return layout;
  }

  /* ------------------------------------------------------------------ colour bar */

  /**
   * The base's colour bar trace (a scatter whose marker.colorbar describes the scale),
   * drawn as HTML beside the plot area: plotly.js redraws a trace colour bar on every
   * restyle, which cost more than everything else in a frame.
   */
  function colorbarSpec(payload) {
    var tr = payload.base.data.filter(function (t) { return t.name === "colorbar"; })[0];
    if (!tr || !tr.marker || !tr.marker.colorbar) return null;
    var m = tr.marker, cb = m.colorbar;
    return {
      scale: m.colorscale, cmin: m.cmin, cmax: m.cmax, title: (cb.title || {}).text || "",
      tickvals: cb.tickvals || [], ticktext: cb.ticktext || [], len: cb.len || 0.75,
      thickness: cb.thickness || 10, font: ((cb.tickfont || {}).size) || 11,
    };
  }

  function buildColorbar(box, spec) {
    while (box.firstChild) box.removeChild(box.firstChild);
    box.style.display = spec ? "" : "none";
    if (!spec) return;
    box.style.fontSize = spec.font + "px";
    el("div", "ovp-cb-title", box, spec.title);
    var bar = el("div", "ovp-cb-bar", box);
    bar.style.width = spec.thickness + "px";
    bar.style.background = "linear-gradient(to top, " + spec.scale.map(function (s) {
      return s[1] + " " + (100 * s[0]) + "%";
    }).join(", ") + ")";
    spec.tickvals.forEach(function (v, i) {
      var f = (v - spec.cmin) / (spec.cmax - spec.cmin);
      if (!(f >= -1e-9 && f <= 1 + 1e-9)) return;
      var tick = el("div", "ovp-cb-tick", bar, spec.ticktext[i]);
      tick.style.bottom = (100 * f) + "%";
    });
  }

  /** Put the colour bar just right of the plot area, centred on it, len of its height. */
  function placeColorbar(box, gd, spec) {
    var fl = gd._fullLayout;
    if (!spec || !fl || !fl.xaxis) return;
    var xa = fl.xaxis, ya = fl.yaxis;
    var h = ya._length * spec.len;
    box.style.left = (gd.offsetLeft + xa._offset + xa._length + 12) + "px";
    box.style.top = (gd.offsetTop + ya._offset + (ya._length - h) / 2) + "px";
    box.lastChild.style.height = h + "px";
  }

  /* ------------------------------------------------------------------ start cloud */

  /**
   * payload.cloud (optviz/figures/cloud.py): uint16 codes, frames × particles × (x, y), on a
   * grid per axis (value = start + code * step; CLOUD_MISSING: diverged) -> per frame a
   * Float32Array of x and one of y (NaN where diverged), built once per payload.
   */
  function prepareCloud(c) {
    var bin = atob(c.xy.b64);
    var bytes = new Uint8Array(bin.length);
    for (var b = 0; b < bin.length; b++) bytes[b] = bin.charCodeAt(b);
    var view = new DataView(bytes.buffer);
    var n = c.particles, gx = c.grid[0], gy = c.grid[1];
    var xs = [], ys = [];
    for (var j = 0; j < c.frames; j++) {
      var x = new Float32Array(n), y = new Float32Array(n);
      for (var i = 0; i < n; i++) {
        var at = 4 * (j * n + i);
        var cx = view.getUint16(at, true), cy = view.getUint16(at + 2, true);
        x[i] = cx === CLOUD_MISSING ? NaN : gx[0] + cx * gx[1];
        y[i] = cy === CLOUD_MISSING ? NaN : gy[0] + cy * gy[1];
      }
      xs.push(x);
      ys.push(y);
    }
    return { meta: c, xs: xs, ys: ys };
  }

  /**
   * The race figure's traces in cloud mode: the base's landscape traces, the cloud (one
   * marker trace at frame k, no hover), the base's "above" traces (minima, saddles), an
   * empty start trace. Same shape as raceTraces' answer, plus cloudId.
   */
  function cloudTraces(payload, cloud, k) {
    var c = cloud.meta;
    var below = [], above = [];
    payload.base.data.forEach(function (tr) {
      if (tr.name === "colorbar") return;
      (tr.meta === "above" ? above : below).push(tr);
    });
    var data = below.slice();
    var cloudId = data.length;
    data.push({
      type: "scattergl", mode: "markers", x: cloud.xs[k], y: cloud.ys[k],
      name: escapeLabel(c.label) + " · " + c.particles.toLocaleString("en-US") + " starts",
      showlegend: true, hoverinfo: "skip", uid: "cloud",
      marker: { color: c.color, size: c.marker_size, opacity: 0.75 },
    });
    data = data.concat(above);
    var startId = data.length;
    data.push({ type: "scatter", mode: "markers", x: [], y: [], showlegend: false,
                hoverinfo: "skip", uid: "starts" });
    return { data: data, pathIds: [], headIds: [], startId: startId, glyphIds: [],
             glyphNames: [], cloudId: cloudId };
  }

  /* ------------------------------------------------------------------ DOM */

  function el(tag, cls, parent, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
    if (parent) parent.appendChild(node);
    return node;
  }

  function buildDom(root) {
    var box = el("div", "optviz-player", root);
    var main = el("div", "ovp-main", box);
    var wrap = el("div", "ovp-race-wrap", main);
    var race = el("div", "ovp-race", wrap);
    var colorbar = el("div", "ovp-colorbar", wrap);
    var three = el("div", "ovp-three", main);
    three.style.display = "none";
    var bar = el("div", "ovp-controls", main);
    var play = el("button", "ovp-play", bar, "▶");
    play.type = "button";
    play.title = "Play / Pause (space)";
    var back = el("button", "ovp-back", bar, "◀︎|");
    back.type = "button";
    back.title = "Step back (←)";
    var fwd = el("button", "ovp-fwd", bar, "|▶︎");
    fwd.type = "button";
    fwd.title = "Step forward (→)";
    var slider = el("input", "ovp-slider", bar);
    slider.type = "range";
    slider.min = "0";
    slider.step = "1";
    slider.setAttribute("aria-label", "step");
    var readout = el("span", "ovp-readout", bar);
    var speed = el("select", "ovp-speed", bar);
    speed.title = "speed";
    var lossMode = el("button", "ovp-lossmode", bar);
    lossMode.type = "button";
    var threeBtn = el("button", "ovp-3d", bar, "3D");
    threeBtn.type = "button";
    threeBtn.title = "Show the surface in 3D";
    threeBtn.setAttribute("aria-pressed", "false");
    var opts = el("span", "ovp-3d-opts", bar);
    opts.style.display = "none";
    var logLabel = el("label", "ovp-logz-label", opts);
    var logz = el("input", "ovp-logz", logLabel);
    logz.type = "checkbox";
    el("span", null, logLabel, " log z");
    var cams = {};
    ["top", "side", "default"].forEach(function (name) {
      var b = el("button", "ovp-cam ovp-cam-" + name, opts, name);
      b.type = "button";
      b.title = "Camera: " + name;
      cams[name] = b;
    });
    var side = el("div", "ovp-side", box);
    var loss = el("div", "ovp-loss", side);
    var notes = el("div", "ovp-notes", main);
    return { box: box, main: main, wrap: wrap, race: race, colorbar: colorbar, three: three,
             bar: bar, play: play, back: back, fwd: fwd, slider: slider, readout: readout,
             speed: speed, lossMode: lossMode, threeBtn: threeBtn, opts: opts, logz: logz,
             logLabel: logLabel, cams: cams, side: side, loss: loss, notes: notes };
  }

  /* ------------------------------------------------------------------ player */

  function mount(root, payload, host) {
    host = host || {};
    var P = plotly();
    var dom = buildDom(root);
    var S = {
      payload: null, tracks: [], ids: null, step: 0, playing: false, raf: 0, t0: 0, k0: 0,
      speed: 1, lossAll: false, dead: false, drag: null, down: null, lastMove: 0,
      starts: [], lossAt: 0, cb: null, startsRaf: 0, listening: false,
      // step inspector: payload.inspect, glyphs switched off in the legend (by name), whether
      // the race shows glyphs now, the pending host.onStep timer and the last step asked
      inspect: null, hidden: {}, glyphsShown: false, stepTimer: 0, asked: null, glyphRows: 0,
      // answers by "track:step" (glyphs and label, newest last) and the retry timer
      answers: new Map(), retryTimer: 0,
      // 3D view: shown, log z, plotted (its trace ids), last redraw, race needs a redraw
      three: { on: false, log: null, ids: null, at: 0 }, raceDirty: false,
      // px added under the race when its legend wraps into more rows than the payload's
      // margin holds (a narrow plot): see fitLegend
      legendExtra: 0,
    };
    root.setAttribute("data-testid", "optviz-player");
    if (!root.hasAttribute("tabindex")) root.tabIndex = 0;

    /* -- drawing ---------------------------------------------------------- */

    function setStepReadout() {
      var total = S.payload.steps;
      dom.slider.value = String(S.step);
      dom.readout.textContent = "step " + S.step +
        (S.inspect && S.step < total ? " → " + (S.step + 1) : "") + " / " + total;
      root.dataset.step = String(S.step);
      // the wall time (performance.now() ms) the shown step belongs to: the frame's time
      // while playing, so tests can check steps / s against it whatever the frame rate
      root.dataset.stepAt = String(Math.round((S.stepAt || 0) * 1000) / 1000);
      if (S.cloud) cloudReadout();
    }

    /** Draw step k: ONE restyle of the race's path and head traces, one of the loss chart. */
    function render(k, at) {
      S.step = k;
      S.stepAt = at === undefined ? performance.now() : at;
      var now = performance.now();
      if (S.three.on) {
        if (!S.playing || k >= S.payload.steps || now - S.three.at >= THREE_MS) {
          S.three.at = now;
          render3d(k);
        }
      } else if (wantGlyphs() !== S.glyphsShown || (S.glyphsShown && S.glyphsFor !== k)) {
        drawRace(); // glyphs appear, go or change: the race drawn anew, at step k
        setNotes();
      } else {
        restyleRace(k);
      }
      // while playing, the loss chart follows at most every LOSS_MS (it costs a redraw too)
      if (!S.playing || k >= S.payload.steps || now - S.lossAt >= LOSS_MS) {
        S.lossAt = now;
        renderLoss(k);
      }
      setStepReadout();
      if (!S.playing) askStep();
    }

    /** ONE restyle of the race's path and head traces for step k. */
    function restyleRace(k) {
      if (S.cloud) return restyleCloud(k);
      var xs = [], ys = [], cds = [], ids = [];
      S.tracks.forEach(function (tr, i) {
        var p = pathAt(tr, k);
        xs.push(p.x);
        ys.push(p.y);
        cds.push(p.rows);
        ids.push(S.ids.pathIds[i]);
        var n = p.x.length;
        xs.push(n ? [p.x[n - 1]] : []);
        ys.push(n ? [p.y[n - 1]] : []);
        cds.push(n ? [p.rows[n - 1]] : []);
        ids.push(S.ids.headIds[i]);
        if (S.ids.ghostIds[i] >= 0) {
          var g = ghostAt(tr, k);
          xs.push(g.x);
          ys.push(g.y);
          cds.push(g.rows);
          ids.push(S.ids.ghostIds[i]);
        }
      });
      if (ids.length) P.restyle(dom.race, { x: xs, y: ys, customdata: cds }, ids);
    }

    /** Put step k's paths and heads into freshly built race traces (before a react). */
    function fillRace(data, ids, k) {
      S.tracks.forEach(function (tr, i) {
        var p = pathAt(tr, k), n = p.x.length;
        Object.assign(data[ids.pathIds[i]], { x: p.x, y: p.y, customdata: p.rows });
        Object.assign(data[ids.headIds[i]], {
          x: n ? [p.x[n - 1]] : [], y: n ? [p.y[n - 1]] : [], customdata: n ? [p.rows[n - 1]] : [],
        });
        if (ids.ghostIds[i] >= 0) {
          var g = ghostAt(tr, k);
          Object.assign(data[ids.ghostIds[i]], { x: g.x, y: g.y, customdata: g.rows });
        }
      });
      var st = data[ids.startId];
      st.x = S.starts.map(function (p) { return p[0]; });
      st.y = S.starts.map(function (p) { return p[1]; });
    }

    /* -- step inspector --------------------------------------------------- */

    /** The answer ({step, glyphs, label}) for the inspected track at the shown step, or null:
     *  from the answers kept, whichever update brought it. */
    function shownAnswer() {
      var ins = S.inspect;
      if (!ins || !(ins.track >= 0 && ins.track < S.tracks.length)) return null;
      return S.answers.get(ins.track + ":" + S.step) || null;
    }

    /** The glyphs to draw now: those of the shown step, while paused, in the 2D race. */
    function wantGlyphs() {
      return !S.playing && !!shownAnswer();
    }

    /** Keep an answer of the host (newest last; the oldest go beyond KEPT_ANSWERS). */
    function keepAnswer(ins) {
      if (!ins || !ins.glyphs || typeof ins.step !== "number") return;
      var key = ins.track + ":" + ins.step;
      S.answers.delete(key);
      S.answers.set(key, { step: ins.step, glyphs: ins.glyphs, label: ins.label });
      while (S.answers.size > KEPT_ANSWERS) S.answers.delete(S.answers.keys().next().value);
    }

    /** Ask the host (debounced) for the glyphs of the shown step k -> k + 1, unless they are
     *  here already or were asked for a moment ago. */
    function askStep() {
      if (!S.inspect || typeof host.onStep !== "function") return;
      if (S.stepTimer) clearTimeout(S.stepTimer);
      S.stepTimer = setTimeout(function () {
        S.stepTimer = 0;
        var ins = S.inspect;
        if (S.dead || S.playing || !ins || S.payload.steps < 1) return;
        var k = Math.max(0, Math.min(S.step, S.payload.steps - 1));
        var key = ins.track + ":" + k;
        if (ins.step === k) return;
        var now = performance.now(), asked = S.asked;
        if (asked && asked.key === key &&
            (asked.tries >= ASK_TRIES || now - asked.at < ASK_RETRY_MS)) return;
        S.asked = { key: key, at: now, tries: asked && asked.key === key ? asked.tries + 1 : 1 };
        host.onStep({ track: ins.track, step: k });
        // no answer for this step in a while (an ask can be lost on its way): ask again
        if (S.retryTimer) clearTimeout(S.retryTimer);
        S.retryTimer = setTimeout(function () {
          S.retryTimer = 0;
          if (!S.dead && !S.playing) askStep();
        }, ASK_RETRY_MS + 10);
      }, STEP_MS);
    }

    /** Legend rows the glyph entries need (a rough estimate from their text), kept while
     *  inspection is on so that the plot does not jump when the glyphs come and go. */
    function glyphLegendRows() {
      var ins = S.inspect;
      if (!ins) return 0;
      var shown = shownAnswer();
      if (!shown) return S.glyphRows;
      var font = S.payload.classroom ? 18 : 12;
      var lay = S.payload.base.layout, m = lay.margin;
      var width = Math.max(200, (dom.main.clientWidth || 700) - m.l - m.r);
      var used = 0;
      (shown.glyphs.legend || []).forEach(function (e) {
        used += String(e.name).length * font * 0.6 + 3.5 * font;
      });
      S.glyphRows = used ? Math.ceil(used / width) + 1 : 0;
      return S.glyphRows;
    }

    function renderLoss(k) {
      var lx = [], ly = [], lids = [];
      var upTo = S.lossAll ? Infinity : k;
      S.tracks.forEach(function (tr, i) {
        var c = curveAt(tr, upTo);
        lx.push(c.x);
        ly.push(c.y);
        lids.push(i);
      });
      lx.push([k, k]);
      ly.push([0, 1]);
      lids.push(S.tracks.length);
      P.restyle(dom.loss, { x: lx, y: ly }, lids);
    }

    /** The race plot's size: the plot area at the 1:1 aspect (when the base asks for it)
     *  as wide as the root allows, its height capped so that plot and controls fit the
     *  window (and by root.dataset.maxHeight, a host's limit); payload.height if given.
     *  The div is then made just as wide as that plot needs, so the colour bar sits beside
     *  the plot. Returns {w, h} in px (w null: the full width). */
    function raceSize() {
      var lay = S.payload.base.layout;
      var m = Object.assign({}, lay.margin, { b: bottomMargin() });
      var avail = dom.main.clientWidth || root.clientWidth || 700;
      var xr = lay.xaxis.range, yr = lay.yaxis.range;
      var aspect = (yr[1] - yr[0]) / (xr[1] - xr[0]);
      var equal = !!lay.yaxis.scaleanchor;
      var h = equal ? (avail - m.l - m.r) * aspect + m.t + m.b : Math.min(avail, 640);
      var controls = dom.bar.offsetHeight + 24;
      // the race and its controls fit the screen below whatever is above the player; the
      // offset is taken once, on the first layout (the page then shows its top), so later
      // updates never resize the race because the page was scrolled
      if (S.above === undefined) {
        S.above = Math.max(0, root.getBoundingClientRect().top + (globalThis.scrollY || 0));
      }
      var above = S.cloud ? CLOUD_ABOVE_PX : S.above;
      var cap = Math.max(300, (globalThis.innerHeight || 800) - controls - above);
      var most = parseFloat(root.dataset.maxHeight);
      if (most > 0) cap = Math.min(cap, most);
      h = S.payload.height ? S.payload.height : Math.round(Math.max(300, Math.min(h, cap)));
      var w = equal ? Math.min(avail, Math.ceil((h - m.t - m.b) / aspect + m.l + m.r)) : null;
      return { w: w, h: h, b: m.b };
    }

    /** The race's bottom margin (px): the payload's, plus room for the glyphs' legend rows
     *  and for the rows the legend wrapped into beyond the payload's estimate. */
    function bottomMargin() {
      var glyphRow = S.payload.classroom ? 30 : 21;
      return S.payload.base.layout.margin.b + glyphLegendRows() * glyphRow + S.legendExtra;
    }

    /** How far (px) the race's legend runs up into its x axis (the tick labels and title)
     *  as drawn, with a 6 px gap; negative: the room to spare. 0 when not drawn. */
    function legendOverlap() {
      var legend = dom.race.querySelector(".legend");
      var top = legend ? legend.getBoundingClientRect() : null;
      if (!top || !top.height) return 0;
      var bottom = -Infinity;
      dom.race.querySelectorAll(".xtick text, .g-xtitle text").forEach(function (el) {
        var r = el.getBoundingClientRect();
        if (r.height) bottom = Math.max(bottom, r.bottom);
      });
      return bottom === -Infinity ? 0 : bottom + 6 - top.top;
    }

    /** The payload sizes the race's bottom margin for the legend's rows at the narrowest
     *  plot it expects; a narrower one (a small screen, many runs) wraps into more rows,
     *  which would run into the x axis. Measure the drawn legend and give it the room it
     *  needs (or back what it no longer needs, never below the payload's margin): a few
     *  rounds at most, since a taller margin may narrow the plot again. */
    function fitLegend() {
      if (S.three.on) return;
      for (var round = 0; round < 3; round++) {
        var over = legendOverlap();
        var next = Math.max(0, Math.ceil(S.legendExtra + over));
        if (Math.abs(next - S.legendExtra) < 2 || (over <= 0 && over > -8)) return;
        S.legendExtra = next;
        var h = layoutSizes();
        P.relayout(dom.race, { height: h, "margin.b": bottomMargin() });
        placeColorbar(dom.colorbar, dom.race, S.cb);
      }
    }

    function layoutSizes() {
      var wide = root.clientWidth >= WIDE_PX;
      dom.box.classList.toggle("ovp-wide", wide);
      var size = raceSize();
      dom.race.style.height = size.h + "px";
      dom.race.style.width = size.w ? size.w + "px" : "100%";
      dom.three.style.height = size.h + "px";
      var lossH = wide ? Math.max(320, size.h) : (S.payload.classroom ? 420 : 340);
      dom.loss.style.height = lossH + "px";
      return size.h;
    }

    function resize() {
      if (S.dead || !S.ids) return;
      layoutSizes();
      if (S.three.on) {
        P.relayout(dom.three, { height: parseInt(dom.three.style.height, 10) || 500 });
      } else {
        var h = parseInt(dom.race.style.height, 10);
        // the control bar may have wrapped since: the plot takes the height it now has
        if (dom.race.layout && dom.race.layout.height !== h) P.relayout(dom.race, { height: h });
        P.Plots.resize(dom.race);
        placeColorbar(dom.colorbar, dom.race, S.cb);
        fitLegend();
      }
      P.Plots.resize(dom.loss);
    }

    var config = {
      displaylogo: false, responsive: false, scrollZoom: false, doubleClick: false,
      modeBarButtonsToRemove: ["zoom2d", "pan2d", "select2d", "lasso2d", "zoomIn2d",
                               "zoomOut2d", "autoScale2d", "resetScale2d"],
    };

    /** (Re)draw both plots from S.payload (Plotly.react keeps the div and, with uirevision,
     *  the legend state). */
    function drawAll() {
      var payload = S.payload;
      S.inspect = payload.inspect || null;
      keepAnswer(S.inspect);
      S.tracks = payload.tracks.map(prepareTrack);
      loadCloud(payload);
      S.starts = payload.starts.map(function (p) { return [p[0], p[1]]; });
      dom.box.classList.toggle("optviz-classroom", !!payload.classroom);
      S.cb = colorbarSpec(payload);
      buildColorbar(dom.colorbar, S.cb);
      layoutSizes();
      var k = payload.initial_step === "end" ? payload.steps
        : Math.max(0, Math.min(payload.steps, payload.initial_step | 0));
      S.step = k;
      dom.slider.max = String(payload.steps);
      setStepReadout(); // its text before the sizes: it may wrap the control bar
      drawRace();
      var ll = lossLayout(payload);
      ll.height = parseInt(dom.loss.style.height, 10);
      P.react(dom.loss, lossTraces(payload, S.tracks), ll, config);
      if (!S.listening && dom.race.on) { // plotly's event emitter exists after the first plot
        dom.race.on("plotly_restyle", syncVisibility);
        S.listening = true;
      }
      dom.slider.max = String(payload.steps);
      fillSpeeds();
      setNotes();
      setup3d();
      root.dataset.token = payload.token;
      render(k);
    }

    /** The race plot anew (Plotly.react: same div, legend state kept) at step S.step, with
     *  the glyphs when wantGlyphs(). In 3D mode only marked to do when the race shows again. */
    function drawRace() {
      var payload = S.payload;
      var show = wantGlyphs();
      var race = S.cloud ? cloudTraces(payload, S.cloud, S.step) : raceTraces(payload, S.tracks,
        show ? glyphTraces(shownAnswer().glyphs, payload.classroom, S.hidden) : []);
      S.ids = race;
      S.glyphsShown = show;
      S.glyphsFor = show ? S.step : -1;
      if (S.three.on) {
        S.raceDirty = true;
        return;
      }
      S.raceDirty = false;
      fillRace(race.data, race, S.step);
      var size = layoutSizes();
      var layout = Object.assign({}, payload.base.layout, { height: size, dragmode: false });
      layout.margin = Object.assign({}, layout.margin, { b: bottomMargin() });
      P.react(dom.race, race.data, layout, config);
      placeColorbar(dom.colorbar, dom.race, S.cb);
      fitLegend();
      root.dataset.glyphs = String(race.glyphIds.length);
    }

    /* -- start cloud ------------------------------------------------------ */

    /** A new payload: cloud mode on (payload.cloud decoded) or off. In cloud mode the slider,
     *  ±1, keys and Play run over frames; no loss chart, no 3D view, no start editing
     *  (player.css hides those controls under .ovp-cloud). */
    function loadCloud(payload) {
      S.cloud = payload.cloud ? prepareCloud(payload.cloud) : null;
      dom.box.classList.toggle("ovp-cloud", !!S.cloud);
      root.dataset.mode = S.cloud ? "cloud" : "race";
      if (S.cloud && S.three.on) {
        S.step = 0;
        set3d(false);
      }
    }

    /** ONE restyle of the cloud's marker trace for frame k. */
    function restyleCloud(k) {
      P.restyle(dom.race, { x: [S.cloud.xs[k]], y: [S.cloud.ys[k]] }, [S.ids.cloudId]);
    }

    /** The readout in cloud mode: the optimizer step of the shown frame, and how many
     *  particles are still there. data-step stays the frame index (the slider's value). */
    function cloudReadout() {
      var c = S.cloud.meta, k = Math.max(0, Math.min(c.frames - 1, S.step));
      dom.readout.textContent = "step " + c.steps[k] + " / " + c.steps[c.frames - 1] + " · " +
        c.alive[k].toLocaleString("en-US") + " of " + c.particles.toLocaleString("en-US") +
        " left";
      root.dataset.frameStep = String(c.steps[k]);
    }

    /* -- 3D view ---------------------------------------------------------- */

    /** After a new payload: the 3D button only with base.surface3d; redraw if shown. */
    function setup3d() {
      var s3 = S.payload.base && S.payload.base.surface3d;
      dom.threeBtn.style.display = s3 ? "" : "none";
      if (!s3) {
        if (S.three.on) set3d(false);
        return;
      }
      if (S.three.log === null) S.three.log = !!(s3.log_default && s3.log_ok);
      dom.logLabel.style.display = s3.log_ok ? "" : "none";
      dom.logz.checked = !!(S.three.log && s3.log_ok);
      if (S.three.on) build3d();
    }

    /** f -> the 3D view's z: f, or log10(f − minimum + δ) with log z (null if <= 0); δ is
     *  s3.log_delta, the lowest gap the surface's grid resolves (race_payload). */
    function zOf(s3, log) {
      var delta = s3.log_delta > 0 ? s3.log_delta : 1e-12;
      return function (f) {
        if (f === null || f === undefined || !isFinite(f)) return null;
        if (!log) return f;
        var d = f - s3.minimum + delta;
        return d > 0 ? Math.log10(d) : null;
      };
    }

    function build3d() {
      var payload = S.payload, s3 = payload.base.surface3d;
      var log = !!(S.three.log && s3.log_ok);
      var zf = zOf(s3, log);
      var zt = log ? "log₁₀(f − f* + δ)" : "f";
      var sz = s3.z.map(function (row) { return row.map(zf); });
      var lo = Infinity, hi = -Infinity;
      sz.forEach(function (row) {
        row.forEach(function (v) {
          if (v !== null) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
        });
      });
      // paths and heads ride a hair above the surface, so that it does not hide them
      var lift = hi > lo ? 0.012 * (hi - lo) : 0;
      var data = [{
        type: "surface", x: s3.x, y: s3.y, z: sz,
        colorscale: "Viridis", opacity: 0.9, showscale: false, name: "surface",
        hovertemplate: "x=%{x:.4g}, y=%{y:.4g}<br>" + zt + "=%{z:.4g}<extra></extra>",
        contours: { z: { show: false } }, uid: "surface",
      }];
      var pathIds = [], headIds = [], wide = payload.classroom ? 7 : 5;
      S.tracks.forEach(function (tr, i) {
        var t = tr.meta;
        pathIds.push(data.length);
        data.push({
          type: "scatter3d", mode: "lines", x: [], y: [], z: [], name: t.legend,
          legendgroup: "g:" + t.legend, showlegend: t.show_legend,
          line: { color: t.color, width: wide }, uid: "path3d" + i,
          hovertemplate: "<b>" + escapeLabel(t.name) + "</b><br>x=%{x:.4g}, y=%{y:.4g}<br>" +
            zt + "=%{z:.4g}<extra></extra>",
        });
      });
      S.tracks.forEach(function (tr, i) {
        var t = tr.meta;
        headIds.push(data.length);
        data.push({
          type: "scatter3d", mode: "markers", x: [], y: [], z: [], name: t.legend,
          legendgroup: "g:" + t.legend, showlegend: false, uid: "head3d" + i,
          marker: { color: t.color, size: payload.classroom ? 9 : 6,
                    line: { color: "white", width: 1 } },
          hovertemplate: "<b>" + escapeLabel(t.name) + "</b><br>x=%{x:.4g}, y=%{y:.4g}<br>" +
            zt + "=%{z:.4g}<extra></extra>",
        });
      });
      S.three.ids = { pathIds: pathIds, headIds: headIds, zf: function (f) {
        var z = zf(f);
        return z === null ? null : z + lift;
      } };
      var lay = payload.base.layout;
      var xr = lay.xaxis.range, yr = lay.yaxis.range;
      var ratio = Math.max(0.25, Math.min(4, (yr[1] - yr[0]) / (xr[1] - xr[0])));
      var old = dom.three.layout && dom.three.layout.scene;
      var font = payload.classroom ? 16 : 12;
      var axis = function (title, range) {
        return { title: { text: title, font: { size: font } }, range: range,
                 tickfont: { size: font - 1 }, backgroundcolor: "white" };
      };
      var layout = {
        template: "none", height: parseInt(dom.three.style.height, 10) || 500,
        margin: { l: 0, r: 0, t: 30, b: 0 }, paper_bgcolor: "white",
        font: lay.font, title: lay.title, showlegend: true,
        legend: { orientation: "h", x: 0, y: 0, yanchor: "bottom", bgcolor: "rgba(255,255,255,0.7)",
                  font: { size: font } },
        uirevision: "3d",
        scene: {
          xaxis: axis("x", xr), yaxis: axis("y", yr),
          zaxis: axis(log ? zt + ", δ = " + fmtNum(s3.log_delta || 1e-12) : zt),
          aspectmode: "manual", aspectratio: { x: 1, y: ratio, z: 0.7 },
          camera: (old && old.camera) || S.three.camera || CAMERAS["default"], uirevision: "3d",
        },
      };
      P.react(dom.three, data, layout, { displaylogo: false, responsive: false });
      render3d(S.step);
    }

    /** ONE restyle of the 3D paths and heads for step k. */
    function render3d(k) {
      var ids = S.three.ids;
      if (!ids) return;
      var xs = [], ys = [], zs = [], which = [];
      S.tracks.forEach(function (tr, i) {
        var p = pathAt(tr, k), n = p.x.length;
        var z = p.rows.map(function (r) { return ids.zf(r[1]); });
        xs.push(p.x);
        ys.push(p.y);
        zs.push(z);
        which.push(ids.pathIds[i]);
        xs.push(n ? [p.x[n - 1]] : []);
        ys.push(n ? [p.y[n - 1]] : []);
        zs.push(n ? [z[n - 1]] : []);
        which.push(ids.headIds[i]);
      });
      if (which.length) P.restyle(dom.three, { x: xs, y: ys, z: zs }, which);
    }

    /** Show the 3D view in place of the 2D race (on) or the race again (off). */
    function set3d(on) {
      if (S.dead || on === S.three.on) return;
      S.three.on = on;
      dom.threeBtn.setAttribute("aria-pressed", on ? "true" : "false");
      dom.threeBtn.classList.toggle("ovp-on", on);
      dom.box.classList.toggle("ovp-3d-mode", on);
      dom.opts.style.display = on ? "" : "none";
      dom.wrap.style.display = on ? "none" : "";
      dom.three.style.display = on ? "" : "none";
      root.dataset.view = on ? "3d" : "2d";
      if (on) {
        layoutSizes();
        build3d();
        S.three.at = performance.now();
      } else {
        S.three.ids = null;
        var sc = dom.three.layout && dom.three.layout.scene;
        if (sc && sc.camera) S.three.camera = sc.camera; // the next 3D view looks the same way
        P.purge(dom.three);
        drawRace(); // at the shown step (it was not redrawn while hidden)
      }
    }

    function setCamera(name) {
      if (!S.three.on || !S.three.ids) return;
      P.relayout(dom.three, { "scene.camera": JSON.parse(JSON.stringify(CAMERAS[name])) });
    }

    function fillSpeeds() {
      var sel = dom.speed;
      while (sel.firstChild) sel.removeChild(sel.firstChild);
      S.payload.speeds.forEach(function (v) {
        var opt = el("option", null, sel, v + "× · " + fmtRate(v * S.payload.base_rate) +
                     (S.cloud ? " frames/s" : " steps/s"));
        opt.value = String(v);
      });
      if (S.payload.speeds.indexOf(S.speed) < 0) S.speed = 1;
      sel.value = String(S.speed);
      root.dataset.rate = String(S.speed * S.payload.base_rate);
      dom.lossMode.textContent = S.lossAll ? "loss chart: all" : "loss chart: up to step";
    }

    function fmtRate(r) {
      return r >= 100 ? String(Math.round(r)) : String(Math.round(r * 10) / 10);
    }

    function setNotes() {
      var box = dom.notes;
      while (box.firstChild) box.removeChild(box.firstChild);
      (S.payload.notes || []).forEach(function (n) { el("div", "ovp-note", box, n); });
      var ans = shownAnswer();
      if (ans && ans.glyphs.note) {
        el("div", "ovp-glyph-note", box,
           (ans.label ? ans.label + ", step " + ans.step + " → " + (ans.step + 1) + ": " : "") +
           ans.glyphs.note);
      }
    }

    /* -- playback --------------------------------------------------------- */

    function setPlaying(on) {
      var was = S.playing;
      S.playing = on;
      root.dataset.playing = on ? "1" : "0";
      dom.play.textContent = on ? "⏸" : "▶";
      if (!on && S.raf) {
        cancelAnimationFrame(S.raf);
        S.raf = 0;
      }
      if (S.ids && !S.three.on && wantGlyphs() !== S.glyphsShown) drawRace();
      if (!on && was) askStep();
    }

    function play() {
      if (S.dead) return;
      if (S.step >= S.payload.steps) render(0); // play at the end restarts
      if (S.stepTimer) clearTimeout(S.stepTimer);
      S.stepTimer = 0;
      S.k0 = S.step;
      S.t0 = performance.now();
      setPlaying(true);
      S.raf = requestAnimationFrame(tick);
    }

    function pause() {
      if (!S.dead) setPlaying(false);
    }

    /** One animation frame: the step follows wall time (slow frames skip steps). */
    function tick(now) {
      S.raf = 0;
      if (!S.playing || S.dead) return;
      var rate = S.payload.base_rate * S.speed;
      var k = S.k0 + Math.floor(Math.max(0, now - S.t0) / 1000 * rate);
      var end = S.payload.steps;
      if (k >= end) {
        render(end, now);
        pause();
        return;
      }
      if (k !== S.step) render(k, now);
      if (S.playing) S.raf = requestAnimationFrame(tick);
    }

    /** Pause and show step k (clamped). */
    function seek(k) {
      pause();
      render(Math.max(0, Math.min(S.payload.steps, k)));
    }

    function setSpeed(v) {
      S.speed = v;
      root.dataset.rate = String(v * S.payload.base_rate);  // nominal steps/s (bench, tests)
      if (S.playing) {
        S.k0 = S.step;
        S.t0 = performance.now();
      }
    }

    /* -- controls --------------------------------------------------------- */

    dom.play.addEventListener("click", function () {
      if (S.playing) pause(); else play();
    });
    dom.back.addEventListener("click", function () { seek(S.step - 1); });
    dom.fwd.addEventListener("click", function () { seek(S.step + 1); });
    dom.slider.addEventListener("input", function () { seek(parseInt(dom.slider.value, 10)); });
    dom.speed.addEventListener("change", function () { setSpeed(parseFloat(dom.speed.value)); });
    dom.threeBtn.addEventListener("click", function () { set3d(!S.three.on); });
    dom.logz.addEventListener("change", function () {
      S.three.log = dom.logz.checked;
      if (S.three.on) build3d();
    });
    Object.keys(dom.cams).forEach(function (name) {
      dom.cams[name].addEventListener("click", function () { setCamera(name); });
    });
    dom.lossMode.addEventListener("click", function () {
      S.lossAll = !S.lossAll;
      dom.lossMode.textContent = S.lossAll ? "loss chart: all" : "loss chart: up to step";
      renderLoss(S.step);
    });

    function onKey(ev) {
      var t = ev.target;
      var tag = t && t.tagName;
      if (tag === "SELECT" || tag === "TEXTAREA" || (tag === "BUTTON" && ev.key === " ")) return;
      if (tag === "INPUT" && t !== dom.slider) return;
      var isSlider = t === dom.slider;
      if (ev.key === " ") {
        if (S.playing) pause(); else play();
      } else if (isSlider) {
        return; // the range input handles arrows and Home / End itself (its input event seeks)
      } else if (ev.key === "ArrowLeft") {
        seek(S.step - 1);
      } else if (ev.key === "ArrowRight") {
        seek(S.step + 1);
      } else if (ev.key === "Home") {
        seek(0);
      } else if (ev.key === "End") {
        seek(S.payload.steps);
      } else {
        return;
      }
      ev.preventDefault();
    }
    root.addEventListener("keydown", onKey);

    /* -- clicks and drags on the race plot -------------------------------- */

    /** Pixel of a mouse event -> data coordinates (exact, through plotly's axis mapping);
     *  null outside the plot area. */
    function toData(ev) {
      var fl = dom.race._fullLayout;
      if (!fl || !fl.xaxis) return null;
      var xa = fl.xaxis, ya = fl.yaxis;
      var rect = dom.race.getBoundingClientRect();
      var px = ev.clientX - rect.left - xa._offset;
      var py = ev.clientY - rect.top - ya._offset;
      if (px < 0 || py < 0 || px > xa._length || py > ya._length) return null;
      return { x: xa.p2d(px), y: ya.p2d(py), px: px, py: py };
    }

    /** Index of the start marker within DRAG_PX of the event, or -1. */
    function nearStart(ev) {
      var fl = dom.race._fullLayout;
      var xa = fl.xaxis, ya = fl.yaxis;
      var rect = dom.race.getBoundingClientRect();
      var best = -1, bestD = DRAG_PX;
      S.starts.forEach(function (p, i) {
        var dx = xa._offset + xa.d2p(p[0]) - (ev.clientX - rect.left);
        var dy = ya._offset + ya.d2p(p[1]) - (ev.clientY - rect.top);
        var d = Math.sqrt(dx * dx + dy * dy);
        if (d <= bestD) { best = i; bestD = d; }
      });
      return best;
    }

    function emit(event) {
      if (typeof host.onStart === "function") host.onStart(event);
    }

    /** Redraw the start markers, at most once per animation frame (mousemove fires faster
     *  than a redraw takes). */
    function drawStartsSoon() {
      if (!S.startsRaf) {
        S.startsRaf = requestAnimationFrame(function () {
          S.startsRaf = 0;
          if (!S.dead) drawStarts();
        });
      }
    }

    function drawStarts() {
      if (S.startsRaf) {
        cancelAnimationFrame(S.startsRaf);
        S.startsRaf = 0;
      }
      P.restyle(dom.race, {
        x: [S.starts.map(function (p) { return p[0]; })],
        y: [S.starts.map(function (p) { return p[1]; })],
      }, [S.ids.startId]);
    }

    function onDown(ev) {
      if (typeof host.onStart !== "function" || S.cloud) return;
      if (ev.target.closest && ev.target.closest(".modebar, .legend")) return;
      var at = toData(ev);
      if (!at) return;
      var i = nearStart(ev);
      if (ev.button === 2 && i >= 0 && S.starts.length > 1) { // right-click removes a start
        var p = S.starts[i];
        emit({ action: "remove", index: i, x: p[0], y: p[1], final: true });
        return;
      }
      if (ev.button !== 0) return;
      if (i >= 0) {
        S.drag = { index: i, moved: false };
        S.lastMove = 0;
        ev.preventDefault();
        ev.stopPropagation();
      } else {
        S.down = { x: ev.clientX, y: ev.clientY, shift: ev.shiftKey };
      }
    }

    function onMove(ev) {
      if (!S.drag) return;
      var at = toData(ev);
      if (!at) return;
      ev.preventDefault();
      S.drag.moved = true;
      S.starts[S.drag.index] = [at.x, at.y];
      drawStartsSoon();
      var now = performance.now();
      if (now - S.lastMove >= MOVE_MS) {
        S.lastMove = now;
        emit({ action: "move", index: S.drag.index, x: at.x, y: at.y, final: false });
      }
    }

    function onUp(ev) {
      if (S.drag) {
        var d = S.drag;
        S.drag = null;
        if (d.moved) {
          var p = S.starts[d.index];
          var at = toData(ev);
          if (at) p = [at.x, at.y];
          S.starts[d.index] = p;
          drawStarts();
          emit({ action: "move", index: d.index, x: p[0], y: p[1], final: true });
        }
        return;
      }
      var down = S.down;
      S.down = null;
      if (!down || Math.abs(ev.clientX - down.x) > CLICK_PX ||
          Math.abs(ev.clientY - down.y) > CLICK_PX) return;
      var at2 = toData(ev);
      if (!at2) return;
      if (down.shift || ev.shiftKey) {
        if (S.starts.length < S.payload.max_starts) {
          emit({ action: "add", index: S.starts.length, x: at2.x, y: at2.y, final: true });
        }
      } else {
        emit({ action: "set", index: 0, x: at2.x, y: at2.y, final: true });
      }
    }

    dom.race.addEventListener("mousedown", onDown, true);

    /** A legend click shows / hides a run on the race: mirror it on the loss chart. */
    function syncVisibility() {
      if (S.dead || !S.ids || S.three.on) return;
      S.ids.glyphIds.forEach(function (id, j) {
        var t = dom.race.data[id];
        if (t) S.hidden[S.ids.glyphNames[j]] = t.visible === "legendonly";
      });
      var vis = S.ids.pathIds.map(function (id) {
        var v = dom.race.data[id].visible;
        return v === undefined ? true : v;
      });
      var now = dom.loss.data.slice(0, vis.length).map(function (t) {
        return t.visible === undefined ? true : t.visible;
      });
      if (vis.some(function (v, i) { return v !== now[i]; })) {
        P.restyle(dom.loss, { visible: vis }, vis.map(function (_, i) { return i; }));
      }
    }
    function onContextMenu(ev) {
      if (typeof host.onStart === "function" && toData(ev) && nearStart(ev) >= 0) {
        ev.preventDefault(); // the right-click removed a start: no browser menu
      }
    }
    dom.race.addEventListener("contextmenu", onContextMenu);
    globalThis.addEventListener("mousemove", onMove, true);
    globalThis.addEventListener("mouseup", onUp, true);

    /* -- size ------------------------------------------------------------- */

    var lastWidth = -1;
    var ro = typeof ResizeObserver === "function" ? new ResizeObserver(function () {
      var w = root.clientWidth;
      if (w === lastWidth) return;
      lastWidth = w;
      resize();
    }) : null;
    if (ro) ro.observe(root);
    function onWindowResize() { resize(); }
    globalThis.addEventListener("resize", onWindowResize);

    /* -- public handle ---------------------------------------------------- */

    function update(newPayload) {
      if (S.dead) return;
      if (S.payload && newPayload.token === S.payload.token) {
        updateInspect(newPayload.inspect || null);
        return;
      }
      pause();
      S.asked = null;
      S.answers = new Map();
      S.down = null;
      // always the complete new race at once; speed and loss mode are kept
      S.payload = Object.assign({}, newPayload,
                                { initial_step: newPayload.cloud ? 0 : "end" });
      // a drag in progress survives the paths it caused: the host answers each "move" with a
      // new payload while the mouse is still held; the marker stays under the mouse
      var drag = S.drag, held = drag ? S.starts[drag.index] : null;
      drawAll();
      if (drag && held && drag.index < S.starts.length && !S.three.on) {
        S.starts[drag.index] = held;
        drawStarts();
      } else {
        S.drag = null;
      }
    }

    /** The same race with another payload.inspect: only the glyphs (and the note) change;
     *  step, speed, playback and the 3D view stay. */
    function updateInspect(ins) {
      var old = S.inspect;
      S.inspect = ins;
      S.payload = Object.assign({}, S.payload, { inspect: ins });
      keepAnswer(ins);
      var key = ins ? ins.track + ":" + ins.step : null;
      // turned on, or off, or another track: ask afresh; the answer to the ask: done
      if (!ins || !old || old.track !== ins.track || (S.asked && S.asked.key === key)) {
        S.asked = null;
      }
      if (!ins) {
        S.glyphRows = 0;
        S.answers = new Map();
      }
      setNotes();
      setStepReadout();
      if (!S.three.on) drawRace();
      else S.raceDirty = true;
      if (!S.playing) askStep();
    }

    function destroy() {
      if (S.dead) return;
      pause();
      S.dead = true;
      if (S.startsRaf) cancelAnimationFrame(S.startsRaf);
      if (S.stepTimer) clearTimeout(S.stepTimer);
      if (S.retryTimer) clearTimeout(S.retryTimer);
      if (ro) ro.disconnect();
      globalThis.removeEventListener("resize", onWindowResize);
      globalThis.removeEventListener("mousemove", onMove, true);
      globalThis.removeEventListener("mouseup", onUp, true);
      root.removeEventListener("keydown", onKey);
      P.purge(dom.race);
      P.purge(dom.loss);
      P.purge(dom.three);
      if (dom.box.parentNode) dom.box.parentNode.removeChild(dom.box);
      var list = globalThis.__optvizPlayers;
      if (list) {
        var i = list.indexOf(handle);
        if (i >= 0) list.splice(i, 1);
      }
    }

    S.payload = payload;
    setPlaying(false);
    drawAll();
    var handle = {
      update: update, destroy: destroy, root: root,
      play: play, pause: pause, seek: seek,
      get step() { return S.step; },
      get view() { return S.three.on ? "3d" : "2d"; },
      set3d: set3d,
      get playing() { return S.playing; },
    };
    (globalThis.__optvizPlayers = globalThis.__optvizPlayers || []).push(handle);
    return handle;
  }

  globalThis.OptvizPlayer = { mount: mount, version: 1 };
})();
