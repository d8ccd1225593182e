"""Start the race as soon as a new figure is on the page.

plotly.js has no "autoplay" layout option and ``st.plotly_chart`` runs no script of ours, so a
tiny inline ``st.components.v2`` component (no iframe, no network, ~25 lines of JavaScript)
waits until the chart whose ``layout.meta`` equals the figure's token is drawn and presses the
figure's own "▶ Play" button once per token. If the script cannot run, nothing breaks: the
figure shows the finished race with Play ready.

It also guards against a plotly.js leak: a graph replaced while it animates (the user changes
the scene mid-race) keeps its frame loop running and throwing on every animation frame; the
script cancels the loop of every graph it has seen once that graph leaves the page.
"""

from __future__ import annotations

import streamlit as st

_JS = """
export default function (component) {
  const { data } = component;
  const w = window;
  w.__optvizPlayed = w.__optvizPlayed || {};
  if (!w.__optvizGuard) {
    // plotly.js keeps animating a graph that was removed mid-animation: its frame loop
    // reschedules itself and throws at 60 Hz forever. Stop the loop of any graph we saw once it
    // is detached or purged.
    const tracked = new Map();
    const sweep = () => {
      for (const [gd, trans] of tracked) {
        if (gd.isConnected && gd._fullLayout) continue;
        if (trans && trans._animationRaf) w.cancelAnimationFrame(trans._animationRaf);
        if (trans) { trans._animationRaf = null; trans._frameQueue = []; }
        tracked.delete(gd);
      }
    };
    new MutationObserver(sweep).observe(document.body, { childList: true, subtree: true });
    setInterval(sweep, 250);
    w.__optvizGuard = (gd) => { if (gd._transitionData) tracked.set(gd, gd._transitionData); };
  }
  if (!data || !data.token || !data.chart) return;
  let tries = 0;
  let timer = null;
  const tick = () => {
    const host = document.querySelector('.st-key-' + data.chart);
    const gd = host && host.querySelector('.js-plotly-plot');
    const ready = gd && gd._fullLayout && gd._fullLayout.meta === data.token;
    const play = ready && gd.querySelector('.updatemenu-button');
    if (play) {
      w.__optvizGuard(gd);
      if (data.enabled && w.__optvizPlayed[data.chart] !== data.token) {
        w.__optvizPlayed[data.chart] = data.token;
        play.dispatchEvent(new MouseEvent('click', { bubbles: true }));
      }
      return;
    }
    if (++tries < 300) timer = setTimeout(tick, 50);
  };
  tick();
  return () => clearTimeout(timer);
};
"""

_component = None


def autoplay(chart_key: str, token: str, enabled: bool = True) -> None:
    """Press Play on the chart ``st.plotly_chart(..., key=chart_key)`` once it shows ``token``
    (its ``layout.meta``). With ``enabled=False`` the token is not played."""
    global _component
    if _component is None:
        _component = st.components.v2.component("optviz_autoplay", js=_JS)
    _component(
        data={"token": token, "chart": chart_key, "enabled": bool(enabled)},
        key=f"{chart_key}-autoplay",
        height=0,
    )
