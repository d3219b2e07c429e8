"""`python -m ideconsole`: what was detected and why; `run SCRIPT` to train through
ideconsole without editing the script; `clean [FILE]` to turn an old log into plain
lines; `demo` to see a simulated training."""
import argparse
import os
import sys
import time
import types
import zipfile
from typing import List, Optional

from . import __version__, _compat, capture, faults
from .console import real_stream
from .detect import detect, explained_row, parse_bool


def report(stream=None, terminal=None) -> str:
    """What a Console would choose for `stream` (default: stdout) and why. When stdout is
    not a terminal but `terminal` (default: stderr) is, as in `python -m ideconsole >
    report.txt`, what it would choose on that terminal follows."""
    stream = real_stream(sys.stdout if stream is None else stream)
    terminal = real_stream(sys.stderr if terminal is None else terminal)
    lines = ["ideconsole {} on Python {} ({})".format(__version__, sys.version.split()[0], sys.platform)]
    lines += _stream_report("stdout", stream)
    if not _compat.isatty(stream) and _compat.isatty(terminal):
        lines += ["", "stderr is a terminal; a script run there would get:"]
        lines += _stream_report("stderr", terminal)
    return "\n".join(lines)


def _stream_report(name, stream) -> List[str]:
    facts = _compat.probe(stream)  # as a Console would: on Windows this may switch VT processing on
    kind = "a terminal" if facts.isatty else "a file" if facts.regular_file else "a pipe"
    lines = ["{}: {}, isatty={} encoding={} width={}".format(name, kind, facts.isatty, facts.encoding,
                                                           facts.width)]
    if facts.platform == "win32":
        lines.append("windows: version={} vt={} codepage={}".format(
            facts.windows_version, facts.vt_enabled, facts.codepage))
    try:
        profile = detect(facts, os.environ)
    except ValueError as error:
        lines.append(str(error))
        return lines
    lines.append(profile.explain())
    on, why = capture.decision(types.SimpleNamespace(capture=None, profile=profile, stream=stream),
                               elsewhere=name != "stdout")
    lines.append(explained_row("capture", "relay" if on else "off", why))
    if name == "stdout":
        value = os.environ.get(faults.VARIABLE, "")
        ignored = "" if not value.strip() or parse_bool(value, strict=True) is not None else (
            "; {}={!r} is not a boolean word: ignored".format(faults.VARIABLE, value))
        lines.append(explained_row("debug", "on" if faults.shown() else "off", (
            "IDECONSOLE_DEBUG=1 writes every fault ideconsole keeps away from training (a closed stream, "
            "a bug of its own) to stderr, with its traceback" + ignored)))
    return lines


def demo(epochs: int = 3, steps: int = 40, delay: float = 0.03) -> bool:
    """A simulated training: the lines Keras would show, drawn through ideconsole. False
    when it stopped because stdout went away (`| head`): a training would go on, a demo not."""
    from .progress import Progress

    # Once stdout's reader is gone, ideconsole points stdout at the null device (in this process
    # or through the relay) and training goes on there.
    quiet_from_the_start = _compat.null_device(sys.__stdout__)

    def reader_gone():
        return not quiet_from_the_start and _compat.null_device(sys.__stdout__)

    for epoch in range(epochs):
        print("Epoch {}/{}".format(epoch + 1, epochs))
        bar = Progress(steps, title="Epoch {}/{}".format(epoch + 1, epochs))
        loss = 1.0 / (epoch + 1)
        for step in range(1, steps + 1):
            if reader_gone():
                return False
            time.sleep(delay)
            loss *= 0.99
            bar.update(step, {"accuracy": 1 - loss / 2, "loss": loss})
        bar.done({"accuracy": 1 - loss / 2, "loss": loss, "val_accuracy": 1 - loss, "val_loss": loss * 1.1})
    return not reader_gone()


RUN_USAGE = "usage: python -m ideconsole run [-h] SCRIPT [ARGS...] | run -m MODULE [ARGS...]"
RUN_HELP = RUN_USAGE + """

Run SCRIPT (or -m MODULE) as __main__ with ideconsole.install() applied, as `python SCRIPT`
or `python -m MODULE` would; ARGS reach the script in sys.argv."""


def run(argv: List[str]) -> int:
    """Run a script (or `-m module`) as __main__ with ideconsole installed. A missing script
    or module is one line on stderr and status 2 or 1, as `python` itself says it."""
    if not argv or argv[0] in ("-h", "--help"):
        print(RUN_HELP if argv else RUN_USAGE, file=sys.stdout if argv else sys.stderr)
        return 0 if argv else 2
    if argv[0] == "-m":
        if len(argv) < 2:
            print(RUN_USAGE + "\npython -m ideconsole run: error: -m needs a module name", file=sys.stderr)
            return 2
        if _find_module(argv[1]) is None:
            print("python -m ideconsole run: error: no module named {}".format(argv[1]), file=sys.stderr)
            return 1
    elif not os.path.exists(argv[0]):
        print("python -m ideconsole run: error: can't open file {!r}: no such file".format(
            os.path.abspath(argv[0])), file=sys.stderr)
        return 2
    elif not _runnable_path(argv[0]):
        print("python -m ideconsole run: error: can't find '__main__' module in {!r}".format(
            os.path.abspath(argv[0])), file=sys.stderr)
        return 1
    from .owner import own, run_script

    code = own(argv)
    if code is not None:
        return code
    run_script(argv)
    return 0


def _runnable_path(path: str) -> bool:
    """A script, or a folder or zip file with a __main__ module, as `python PATH` runs."""
    if os.path.isdir(path):
        return any(os.path.exists(os.path.join(path, "__main__" + ext)) for ext in (".py", ".pyc"))
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            return any(name in archive.namelist() for name in ("__main__.py", "__main__.pyc"))
    return True


def _find_module(name: str):
    import importlib.util

    try:
        return importlib.util.find_spec(name)
    except (ImportError, ValueError):  # a parent package missing, or an empty name
        return None


def _at_least(kind, least):
    """An argparse type: a number of `kind`, `least` or more (a usage error otherwise)."""
    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            value = None
        if value is None or not value >= least or value == float("inf"):
            raise argparse.ArgumentTypeError("{!r} is not a number of {} or more".format(text, least))
        return value
    return parse


def main(argv: Optional[List[str]] = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "run":
        return run(argv[1:])  # the script's own output: a closed pipe is its business, as under python
    try:
        status = _command(argv)
        sys.stdout.flush()  # here, not at exit, where a closed pipe would make Python complain
        return status
    except BrokenPipeError:  # `| head` has read enough
        return _compat.exit_for_closed_pipe()


def _command(argv: List[str]) -> int:
    if argv and argv[0] == "clean":
        from .clean import main as clean

        return clean(argv[1:])
    parser = argparse.ArgumentParser(prog="python -m ideconsole", description=__doc__)
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("report", help="what ideconsole detects for this stdout, and why (the default)")
    demo_parser = sub.add_parser("demo", help="draw a simulated training")
    demo_parser.add_argument("--epochs", type=_at_least(int, 1), default=3)
    demo_parser.add_argument("--steps", type=_at_least(int, 1), default=40)
    demo_parser.add_argument("--delay", type=_at_least(float, 0), default=0.03, help="seconds per step")
    sub.add_parser("run", help="run SCRIPT [ARGS...] with ideconsole.install() applied")
    sub.add_parser("clean", help="turn a log full of \\r, \\b and colour codes into plain lines "
                                 "(FILE, or stdin)")
    args = parser.parse_args(argv)
    if args.command == "demo":
        if not demo(args.epochs, args.steps, args.delay):
            return _compat.exit_for_closed_pipe()
    else:
        print(report())
    return 0


if __name__ == "__main__":
    sys.exit(main())
