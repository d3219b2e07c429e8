"""Owning file descriptors 1 and 2 while training draws a status line.

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
from typing import Callable, Dict, Optional

DRAIN_SECONDS = 0.5  # how long stop() waits for what is still in the pipes


class Capture:
    """Redirect descriptors (1 = stdout, 2 = stderr) into pipes read by threads that call
    `deliver(name, text)`. `stop()` puts the descriptors back and drains the pipes."""

    NAMES = {1: "stdout", 2: "stderr"}

    def __init__(self, descriptors, deliver: Callable[[str, str], None], encoding: str = "utf-8"):
        self._deliver = deliver
        self._encoding = encoding
        self._saved: Dict[int, int] = {}
        self._threads = []
        self.writers: Dict[str, io.TextIOBase] = {}
        for number in descriptors:
            self._redirect(number)

    def _redirect(self, number: int) -> None:
        saved = os.dup(number)
        read_end, write_end = os.pipe()
        _flush_python_streams()
        os.dup2(write_end, number)
        os.close(write_end)
        self._saved[number] = saved
        name = self.NAMES[number]
        self.writers[name] = io.TextIOWrapper(io.FileIO(saved, "w", closefd=False), encoding=self._encoding,
                                              errors="replace", write_through=True)
        thread = threading.Thread(target=self._read, args=(read_end, name), daemon=True,
                                  name="ideconsole-" + name)
        thread.start()
        self._threads.append(thread)

    def _read(self, read_end: int, name: str) -> None:
        decoder = codecs.getincrementaldecoder(self._encoding)(errors="replace")
        try:
            while True:
                data = os.read(read_end, 65536)
                text = decoder.decode(data, final=not data)
                if text:
                    try:
                        self._deliver(name, text)
                    except Exception:  # the console is gone: write it where it was going
                        self._fallback(name, text)
                if not data:
                    break
        finally:
            os.close(read_end)

    def _fallback(self, name: str, text: str) -> None:
        writer = self.writers.get(name)
        try:
            writer.write(text)
        except Exception:
            pass

    def stop(self) -> None:
        """Put the descriptors back. Bytes already in the pipes are still delivered; a child
        process that keeps a pipe open past DRAIN_SECONDS keeps its thread running."""
        _flush_python_streams()
        for number, saved in self._saved.items():
            os.dup2(saved, number)
        for thread in self._threads:
            thread.join(DRAIN_SECONDS)
        if not any(thread.is_alive() for thread in self._threads):
            for saved in self._saved.values():
                os.close(saved)
        self._saved.clear()


def _flush_python_streams() -> None:
    for stream in (sys.__stdout__, sys.__stderr__):
        try:
            stream.flush()
        except Exception:
            pass


def start(stdout_fd: Optional[int], stderr_fd: Optional[int], deliver, encoding: str) -> Optional[Capture]:
    """A Capture of the descriptors given (those that are 1 or 2), or None where that is not
    possible: not POSIX, or nothing to capture."""
    if os.name != "posix":
        return None
    descriptors = [number for number in (stdout_fd, stderr_fd) if number in (1, 2)]
    if not descriptors:
        return None
    try:
        return Capture(descriptors, deliver, encoding)
    except OSError:
        return None
