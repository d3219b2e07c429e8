"""Faults ideconsole keeps away from the training loop (a closed stream, a value it cannot
show, a bug of its own): with IDECONSOLE_DEBUG=1 each is also written to stderr with its
traceback, so that a bar that went quiet can be explained."""
import os
import sys
import traceback

from .detect import parse_bool

VARIABLE = "IDECONSOLE_DEBUG"


def shown() -> bool:
    return bool(parse_bool(os.environ.get(VARIABLE), strict=True))


def swallowed(where: str) -> None:
    """Call in an `except` block: the exception being handled goes no further, and is shown
    on stderr where IDECONSOLE_DEBUG asks for it."""
    if not shown():
        return
    try:
        text = "ideconsole: {} failed; training goes on ({}=1 shows this):\n{}".format(
            where, VARIABLE, traceback.format_exc())
        stream = sys.__stderr__
        data = text.encode(getattr(stream, "encoding", None) or "utf-8", "backslashreplace")
        os.write(stream.fileno(), data)  # past every proxy: this must not come back here
    except Exception:
        pass
