"""The page's CSS (normal and classroom mode) and Markdown escaping for user text.

The race player sizes its own fonts and controls for classroom mode (``optviz/web``); this
CSS enlarges the rest of the page for a projector.
"""

from __future__ import annotations

import string

#: Page CSS: a little tighter than Streamlit's defaults so the race fits a laptop screen.
BASE_CSS = """
<style>
.block-container {padding-top: 3.6rem; padding-bottom: 2rem;}
section[data-testid="stSidebar"] h3 {margin-top: 0.4rem;}
section[data-testid="stSidebar"] .katex-display {overflow-x: auto; overflow-y: hidden;
  padding: 0.2rem 0; font-size: 0.92em;}
.stAppDeployButton {display: none;}
div[data-testid="stExpander"] details summary p {font-weight: 600;}
/* A simulation's progress (optviz.ui.cache.progress_box) floats at the top right, under the
   header, clear of the sidebar: its box and the layout wrapper around it are out of the page's
   flow, so it shifts nothing (the race stays under a dragging mouse). It fades in only when
   the wait lasts; an emptied box is not drawn. */
div[data-testid="stLayoutWrapper"]:has(> [class*="st-key-ovp_progress_"]) {position: fixed;
  top: 4rem; right: 1.5rem; width: min(26rem, calc(100vw - 3rem)); z-index: 999990;
  pointer-events: none;}
div[class*="st-key-ovp_progress_"] {width: 100%; padding: 0.5rem 1rem; border-radius: 0.5rem;
  background: rgba(255, 255, 255, 0.97); box-shadow: 0 2px 12px rgba(0, 0, 0, 0.2);
  opacity: 0; animation: ovp-late 0.2s ease-in 0.4s forwards;}
div[class*="st-key-ovp_progress_"]:not(:has([data-testid="stProgress"], [data-testid="stSpinner"]))
{display: none;}
@keyframes ovp-late {to {opacity: 1;}}
</style>
"""

#: Classroom mode: the race starts at the top of the page; text everywhere >= 18 px for a
#: projector.
CLASSROOM_CSS = """
<style>
.block-container {padding-top: 3.6rem; padding-left: 1.2rem; padding-right: 1.2rem;}
[data-testid="stMain"] .stMarkdown p, [data-testid="stMain"] .stMarkdown li,
[data-testid="stMain"] .stAlert p, [data-testid="stMain"] .stText,
[data-testid="stMain"] label p, [data-testid="stMain"] button p
{font-size: 1.25rem !important; line-height: 1.5;}
[data-testid="stMain"] h4 {font-size: 1.6rem !important;}
[data-testid="stSidebar"] label p, [data-testid="stSidebar"] .stMarkdown p
{font-size: 1.15rem !important;}
</style>
"""


_MARKDOWN_SPECIALS = frozenset(string.punctuation)


def md_escape(text: str) -> str:
    """``text`` shown literally inside Streamlit Markdown (formulas like ``x**2``, labels like
    ``[click me](https://…)``, ``__import__``): every ASCII punctuation character is
    backslash-escaped, which CommonMark guarantees to show literally. That also breaks what
    escaping single characters cannot: bare-URL autolinks (``http\\://``, ``www\\.``),
    e-mail links (``\\@``), Streamlit's ``:red[…]``/``:material/…:`` directives and ``$``
    LaTeX. Prefer elements that do not parse Markdown (``st.text``, dataframe cells) for user
    text; use this where a Markdown element is the only fit (alerts, captions)."""
    return "".join("\\" + c if c in _MARKDOWN_SPECIALS else c for c in str(text))
