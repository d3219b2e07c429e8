"""Runs a script as an IDE's shell runs it: `python shell_script.py idle|thonny FRAMES
SCRIPT [ARGS...]`. sys.stdout and sys.stderr become the shell's stream objects, and each
write goes to the file FRAMES as one JSON line [stream, text], for a test to replay.

IDLE: the standard library's own idlelib.run.StdOutputFile (isatty() True, no fileno()).
Thonny: a stand-in for thonny/thonny cp_back.py FakeOutputStream, as it is there: isatty()
True in the shell's tty mode, and every other attribute, fileno() included, the real
stdout's (the pipe to Thonny's front end).
"""
import json
import runpy
import sys


class Frames:
    """What the shell's front end receives: (stream, text) per write, in order."""

    def __init__(self, path):
        self.file = open(path, "w", encoding="utf-8")

    def write(self, text, stream):
        self.file.write(json.dumps([stream, text]) + "\n")
        self.file.flush()
        return len(text)


class FakeOutputStream:
    def __init__(self, frames, target, name):
        self._frames, self._target, self._name = frames, target, name

    def isatty(self):
        return True

    def write(self, data):
        if data:
            self._frames.write(data, self._name)
        return len(data)

    def __getattr__(self, name):
        return getattr(self._target, name)


def main():
    shell, path, script = sys.argv[1:4]
    frames = Frames(path)
    if shell == "idle":
        try:
            from idlelib.run import StdOutputFile
        except ImportError:  # Python 3.6 and 3.7 call it PseudoOutputFile
            from idlelib.run import PseudoOutputFile as StdOutputFile

        class Shell:  # the RPC proxy of IDLE's shell window: write(text, tags)
            def write(self, text, tags):
                return frames.write(text, tags)

        sys.stdout = StdOutputFile(Shell(), "stdout", "utf-8")
        try:
            sys.stderr = StdOutputFile(Shell(), "stderr", "utf-8", "backslashreplace")
        except TypeError:  # PseudoOutputFile takes no errors argument
            sys.stderr = StdOutputFile(Shell(), "stderr", "utf-8")
    else:
        real = sys.stdout
        sys.stdout = FakeOutputStream(frames, real, "stdout")
        sys.stderr = FakeOutputStream(frames, real, "stderr")
        sys.__stdout__, sys.__stderr__ = sys.stdout, sys.stderr
    sys.argv = [script] + sys.argv[4:]
    runpy.run_path(script, run_name="__main__")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
