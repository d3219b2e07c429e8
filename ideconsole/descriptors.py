"""Owning file descriptors 1 and 2 while a status line is up (opt-in).

Worker processes (Keras `use_multiprocessing=True`), C and C++ code (TensorFlow's own
logging) and `os.system` children write straight to the inherited descriptors, past
`sys.stdout`. While a capture runs, descriptors 1 and 2 are pipes; a reader thread per pipe
hands whatever arrives to the console as foreign output, and the console writes to
duplicates of the original descriptors. POSIX only.
"""
import codecs
import io
import os
import sys
import threading
import time
from typing import Callable, Dict, List, Optional

DRAIN_SECONDS = 0.5  # how long drain() waits, in all, for what is still in the pipes
_readers: List[threading.Thread] = []  # every reader thread started, for drain()


class Capture:
    """Redirect descriptors (1 = stdout, 2 = stderr) into pipes read by threads that call
    `deliver(name, text)`. `stop()` puts the descriptors back at once; each reader goes on
    until its pipe's last writer (perhaps a child process) closes it, then cleans up."""

    NAMES = {1: "stdout", 2: "stderr"}

    def __init__(self, descriptors, deliver: Callable[[str, str], None], encoding: str = "utf-8"):
        self._deliver = deliver
        self._encoding = encoding
        self._saved: Dict[int, int] = {}
        self.writers: Dict[str, io.TextIOBase] = {}
        _flush_python_streams()
        try:
            for number in descriptors:
                self._redirect(number)
        except OSError:
            self.stop()  # all or nothing: what was redirected goes back
            raise

    def _redirect(self, number: int) -> None:
        saved = os.dup(number)
        try:
            read_end, write_end = os.pipe()
        except OSError:
            os.close(saved)
            raise
        os.dup2(write_end, number)
        os.close(write_end)
        self._saved[number] = saved
        name = self.NAMES[number]
        writer = io.TextIOWrapper(io.FileIO(saved, "w", closefd=False), encoding=self._encoding,
                                  errors="replace", write_through=True)
        self.writers[name] = writer
        thread = threading.Thread(target=self._read, args=(read_end, name, saved), daemon=True,
                                  name="ideconsole-" + name)
        thread.start()
        _readers.append(thread)

    def _read(self, read_end: int, name: str, saved: int) -> None:
        decoder = codecs.getincrementaldecoder(self._encoding)(errors="replace")
        try:
            while True:
                data = os.read(read_end, 65536)
                text = decoder.decode(data, final=not data)
                if text:
                    try:
                        self._deliver(name, text)
                    except Exception:  # the console is gone: write it where it was going
                        _write_quietly(self.writers[name], text)
                if not data:
                    break
        finally:
            os.close(read_end)
            os.close(saved)  # the writer's descriptor: nobody writes to it after EOF here

    def stop(self) -> None:
        """Put the descriptors back. Never waits, so it may be called from anywhere, a
        reader thread or a lock holder included. Once the pipes' last writers are gone,
        their readers deliver what is left and close everything."""
        _flush_python_streams()
        for number, saved in self._saved.items():
            try:
                os.dup2(saved, number)
            except OSError:
                pass
        self._saved.clear()


def _write_quietly(writer, text: str) -> None:
    try:
        writer.write(text)
    except Exception:
        pass


def _flush_python_streams() -> None:
    for stream in (sys.__stdout__, sys.__stderr__):
        try:
            stream.flush()
        except Exception:
            pass


def start(stdout_fd: Optional[int], stderr_fd: Optional[int], deliver, encoding: str) -> Optional[Capture]:
    """A Capture of the descriptors given (those that are 1 or 2), or None where that is not
    possible: not POSIX, nothing to capture, or the system refused a pipe."""
    if os.name != "posix":
        return None
    descriptors = [number for number in (stdout_fd, stderr_fd) if number in (1, 2)]
    if not descriptors:
        return None
    try:
        return Capture(descriptors, deliver, encoding)
    except OSError:
        return None


def drain(seconds: float = DRAIN_SECONDS) -> None:
    """Wait, `seconds` in all, for stopped captures' readers to deliver what is left: at
    exit, daemon threads would be cut off. A reader whose pipe a child process still holds
    open is left behind when the time is up."""
    deadline = time.monotonic() + seconds
    for thread in list(_readers):
        if thread is not threading.current_thread():
            thread.join(max(deadline - time.monotonic(), 0.0))
        if not thread.is_alive():
            _readers.remove(thread)
