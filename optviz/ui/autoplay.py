"""Start the race as soon as a new figure is on the page.

plotly.js has no "autoplay" layout option and ``st.plotly_chart`` runs no script of ours, so a
tiny inline ``st.components.v2`` component (no iframe, no network, ~25 lines of JavaScript)
waits until the chart whose ``layout.meta`` equals the figure's token is drawn and presses the
figure's own "▶ Play" button once per token. If the script cannot run, nothing breaks: the
figure shows the finished race with Play ready.
"""

from __future__ import annotations

import streamlit as st

_JS = """
export default function (component) {
  const { data } = component;
  if (!data || !data.token || !data.chart) return;
  const played = (window.__optvizPlayed = window.__optvizPlayed || {});
  let tries = 0;
  let timer = null;
  const tick = () => {
    const host = document.querySelector('.st-key-' + data.chart);
    const gd = host && host.querySelector('.js-plotly-plot');
    const ready = gd && gd._fullLayout && gd._fullLayout.meta === data.token;
    const play = ready && gd.querySelector('.updatemenu-button');
    if (play) {
      if (data.enabled && played[data.chart] !== data.token) {
        played[data.chart] = data.token;
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
