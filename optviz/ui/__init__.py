"""The Streamlit app's pieces (``app.py`` composes them). Only this package and ``app.py``
import Streamlit; :mod:`optviz.ui.model` and :mod:`optviz.ui.style` are plain Python."""
