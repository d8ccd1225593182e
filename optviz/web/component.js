// Streamlit host of the race player (st.components.v2, see optviz/ui/player.py).
//
// It loads plotly.min.js (from its pre-compressed copy) and player.js from this component's
// asset directory once per page (Streamlit serves them with Cache-Control: public, so the
// browser keeps them), mounts one player per component instance, and hands every new payload to it. The landscape part of a
// payload ("base") is sent by Python once per session and layout: later payloads carry only
// its token, and the base comes from the page-wide cache here. Start-point edits go back to
// Python as the "start" trigger value; "need_base" asks Python to send a base again;
// "inspect_step" asks for the step inspector's glyphs of the shown step (only the player asks:
// one trigger per shown step, so that asks never crowd out the other triggers of this
// component, which Streamlit sends as one value).
const here = import.meta.url;
const MAX_CACHED_BASES = 8;

/** Load a classic script once per page (`src` defaults to the asset `name`); resolves when
 *  `ready()` holds. */
function loadScript(name, ready, src) {
  const loading = (window.__optvizScripts = window.__optvizScripts || {});
  if (ready()) return Promise.resolve();
  if (!loading[name]) {
    loading[name] = Promise.resolve(src ? src() : new URL(name, here).href).then(
      (url) => new Promise((resolve, reject) => {
        const script = document.createElement("script");
        script.src = url;
        script.onload = () => {
          if (url.startsWith("blob:")) URL.revokeObjectURL(url);
          resolve();
        };
        script.onerror = () => reject(new Error(`optviz: could not load ${name}`));
        document.head.appendChild(script);
      }));
  }
  return loading[name];
}

/** A blob: URL of the gzip asset `name` un-gzipped in the browser. Streamlit's server would
 *  gzip the plain 4.8 MB plotly.min.js anew for every visitor (0.2-0.4 s of its CPU each);
 *  the .gz file (made once by optviz.web.vendor) goes out as it is. Rejects where the
 *  browser has no DecompressionStream, or on an HTTP error: the caller loads the plain file. */
async function unpacked(name) {
  if (typeof DecompressionStream !== "function") throw new Error("no DecompressionStream");
  const response = await fetch(new URL(name, here));
  if (!response.ok || !response.body) throw new Error(`optviz: ${name}: HTTP ${response.status}`);
  const text = response.body.pipeThrough(new DecompressionStream("gzip"));
  const bytes = await new Response(text).arrayBuffer();
  return URL.createObjectURL(new Blob([bytes], { type: "text/javascript" }));
}

/** plotly.js and the player, fetched at the same time (player.js reaches for Plotly only
 *  when it mounts), plotly.js from its .gz copy where it can. */
function loadPlayer() {
  const plain = new URL("vendor/plotly.min.js", here).href;
  return Promise.all([
    loadScript("vendor/plotly.min.js", () => !!window.Plotly,
               () => unpacked("vendor/plotly.min.js.gz").catch(() => plain)),
    loadScript("player.js", () => !!window.OptvizPlayer),
  ]);
}

/** Inject player.css once per page (the component does not isolate styles: plotly.js
 *  keeps its own styles in the document head). */
function loadStyle(name) {
  const id = "optviz-style-" + name;
  if (document.getElementById(id)) return;
  const link = document.createElement("link");
  link.id = id;
  link.rel = "stylesheet";
  link.href = new URL(name, here).href;
  document.head.appendChild(link);
}

function pageBases() {
  return (window.__optvizBases = window.__optvizBases || new Map());
}

/** Keep a payload's base in the page cache (at once, whether or not this payload is the one
 *  drawn: a later payload may carry only its token). */
function keepBase(payload) {
  if (!payload.base) return;
  const bases = pageBases();
  bases.delete(payload.base_token);
  bases.set(payload.base_token, payload.base);
  while (bases.size > MAX_CACHED_BASES) bases.delete(bases.keys().next().value);
}

/** The payload with its base filled in from the page cache (null: not cached here). */
function withBase(payload) {
  if (payload.base) return payload;
  const base = pageBases().get(payload.base_token);
  return base ? { ...payload, base } : null;
}

/** The component's data: the player's arrives as UTF-8 JSON bytes, {payload, inspect}
 *  (optviz/ui/player.py encodes it once per race); the preload instance's as an object. */
function readData(data) {
  if (!(data instanceof ArrayBuffer || ArrayBuffer.isView(data))) return data;
  const got = JSON.parse(new TextDecoder().decode(data));
  if (got && got.payload) got.payload.inspect = got.inspect === undefined ? null : got.inspect;
  return got;
}

export default function (component) {
  const { parentElement, setTriggerValue } = component;
  const data = readData(component.data);
  if (data && data.preload) {  // mounted at the top of the page: start the downloads early
    loadStyle("player.css");
    loadPlayer().catch(() => {});  // the real instance reports a failure
    return;
  }
  if (!data || !data.payload) return;
  let root = parentElement.querySelector(":scope > .optviz-host");
  if (!root) {
    root = document.createElement("div");
    root.className = "optviz-host";
    parentElement.appendChild(root);
  }
  let alive = true;
  // Only the newest payload of this instance is drawn: Streamlit calls this function once per
  // payload and calls no cleanup when a newer one arrives, and while the scripts load an older
  // call may wake up after a newer one (and draw an older race, or an older inspection).
  const seq = (root.__optvizSeq = (root.__optvizSeq || 0) + 1);
  keepBase(data.payload);
  loadStyle("player.css");
  loadPlayer()
    .then(() => {
      if (!alive || seq !== root.__optvizSeq) return;
      const payload = withBase(data.payload);
      if (!payload) {
        setTriggerValue("need_base", data.payload.base_token);
        return;
      }
      // the newest setTriggerValue of this instance: the host object stays the same
      root.__optvizSend = setTriggerValue;
      if (root.__optvizPlayer) {
        root.__optvizPlayer.update(payload);
      } else {
        const host = {
          onStart: (event) => root.__optvizSend("start", event),
          onStep: (event) => root.__optvizSend("inspect_step", event),
        };
        root.__optvizPlayer = window.OptvizPlayer.mount(root, payload, host);
      }
    })
    .catch((err) => {
      root.textContent = String(err && err.message ? err.message : err);
    });
  return () => {
    alive = false;
    // a re-render calls this too: only a player whose element left the page is destroyed
    setTimeout(() => {
      if (!root.isConnected && root.__optvizPlayer) {
        root.__optvizPlayer.destroy();
        root.__optvizPlayer = null;
      }
    }, 0);
  };
}
