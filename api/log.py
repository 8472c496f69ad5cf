"""The server's own log lines (stderr, beside Streamlit's): why a request was refused.
A client such as an OTel SDK or curl shows only the status code."""

from __future__ import annotations

import logging
import sys


def server_log(name: str) -> logging.Logger:
    log = logging.getLogger(name)
    if not log.handlers:  # Streamlit configures only its own loggers
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False
    return log
