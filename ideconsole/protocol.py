"""What the training process and its relay say to each other, and nothing else: message kinds,
their framing on the control pipe, the marker that places a message among a channel's bytes,
and the relay's answers on the back pipe. Both sides import this; it imports nothing of theirs.
"""
import json
import os
import select
import struct
from typing import Optional, Tuple

# The training process -> the relay (control pipe), each followed by a marker on stdout's channel.
AREA = b"a"    # the status area: its rows, "\n" between them (one row on most consoles)
COMMIT = b"c"  # the status area ends as this final line
KEEP = b"k"    # the status area ends as it is on screen
CLEAR = b"x"   # the status area goes away
TEXT = b"t"    # ideconsole's own permanent line (an epoch's header, a bar's final line)
OWN_STDOUT = b"o"  # text of the training process's own unbuffered stdout (part of a line)
OWN_STDERR = b"e"  # the same for stderr
SYNC = b"s"    # answer ACK once everything written before the marker is shown
KINDS = (AREA, COMMIT, KEEP, CLEAR, TEXT, OWN_STDOUT, OWN_STDERR, SYNC)

# The relay -> the training process (back pipe), one byte each.
ACK = b"A"     # a SYNC has been handled
BROKEN = b"B"  # the real stdout's reader went away (`| head`): its channel is closed

HEADER = struct.Struct("!cI")  # kind, payload length: one write() per message
PIECE = (getattr(select, "PIPE_BUF", 512) - HEADER.size) // 4  # characters that one atomic write holds
PIECED = (TEXT, OWN_STDOUT, OWN_STDERR)  # kinds whose text may be sent in several messages


def new_marker() -> bytes:
    """An APC string no terminal shows, unique to one run."""
    return "\x1b_{}\x1b\\".format(int.from_bytes(os.urandom(8), "big")).encode("ascii")


def messages(kind: bytes, text: str = ""):
    """The framed messages for `kind` with `text`: each fits one atomic pipe write (all or
    nothing, even when a signal interrupts), so the control pipe never holds half a message."""
    pieces = [text]
    if kind in PIECED and len(text) > PIECE:
        pieces = [text[start:start + PIECE] for start in range(0, len(text), PIECE)]
    for piece in pieces:
        data = piece.encode("utf-8", "surrogatepass")
        yield HEADER.pack(kind, len(data)) + data


def pop(buffer: bytearray) -> Optional[Tuple[bytes, str]]:
    """The first whole message in `buffer`, removed from it; None until one is whole."""
    if len(buffer) < HEADER.size:
        return None
    kind, size = HEADER.unpack_from(buffer)
    end = HEADER.size + size
    if len(buffer) < end:
        return None
    text = bytes(buffer[HEADER.size:end]).decode("utf-8", "surrogatepass")
    del buffer[:end]
    return kind, text


def marker_start(data: bytes, marker: bytes) -> int:
    """Where a marker cut off by the end of a read may begin in `data` (len(data): nowhere)."""
    start = data.find(marker[:1], max(len(data) - len(marker) + 1, 0))
    while start >= 0:
        if marker.startswith(data[start:]):
            return start
        start = data.find(marker[:1], start + 1)
    return len(data)


def modes_text(modes) -> str:
    """A terminal's modes (termios.tcgetattr's list) as text for a command line."""
    control = [value if isinstance(value, int) else value.decode("latin-1") for value in modes[6]]
    return json.dumps(list(modes[:6]) + [control])


def modes_from_text(text: str):
    modes = json.loads(text)
    return modes[:6] + [[value if isinstance(value, int) else value.encode("latin-1") for value in modes[6]]]
