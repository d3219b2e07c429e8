"""`python -m ideconsole`: what was detected and why; `run SCRIPT` to train through
ideconsole without editing the script; `clean [FILE]` to turn an old log into plain
lines; `demo` to see a simulated training."""
import argparse
import os
import runpy
import sys
import time
from typing import List, Optional

from . import __version__
from ._compat import probe
from .console import real_stream
from .detect import detect


def report(stream=None) -> str:
    stream = real_stream(sys.stdout if stream is None else stream)
    facts = probe(stream)  # as a Console would: on Windows this may switch VT processing on
    try:
        profile = detect(facts, os.environ)
    except ValueError as error:
        return "ideconsole {}: {}".format(__version__, error)
    lines = ["ideconsole {} on Python {} ({})".format(__version__, sys.version.split()[0], sys.platform),
             "stream: isatty={} encoding={} width={}".format(facts.isatty, facts.encoding, facts.width)]
    if facts.platform == "win32":
        lines.append("windows: version={} vt={} codepage={}".format(
            facts.windows_version, facts.vt_enabled, facts.codepage))
    lines.append(profile.explain())
    return "\n".join(lines)


def demo(epochs: int = 3, steps: int = 40, delay: float = 0.03) -> None:
    """A simulated training: the lines Keras would show, drawn through ideconsole."""
    from .progress import Progress

    for epoch in range(epochs):
        print("Epoch {}/{}".format(epoch + 1, epochs))
        bar = Progress(steps, title="Epoch {}/{}".format(epoch + 1, epochs))
        loss = 1.0 / (epoch + 1)
        for step in range(1, steps + 1):
            time.sleep(delay)
            loss *= 0.99
            bar.update(step, {"accuracy": 1 - loss / 2, "loss": loss})
        bar.done({"accuracy": 1 - loss / 2, "loss": loss, "val_accuracy": 1 - loss, "val_loss": loss * 1.1})


def run(argv: List[str]) -> None:
    """Run a script (or `-m module`) as __main__ with ideconsole installed."""
    from . import install

    install()
    if argv[0] == "-m":
        sys.argv = argv[1:]
        runpy.run_module(argv[1], run_name="__main__", alter_sys=True)
    else:
        sys.argv = argv
        sys.path.insert(0, os.path.dirname(os.path.abspath(argv[0])))
        runpy.run_path(argv[0], run_name="__main__")


def main(argv: Optional[List[str]] = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "clean":
        from .clean import main as clean

        return clean(argv[1:])
    if argv and argv[0] == "run":
        if len(argv) < 2:
            print("usage: python -m ideconsole run SCRIPT [ARGS...] | run -m MODULE [ARGS...]",
                  file=sys.stderr)
            return 2
        run(argv[1:])
        return 0
    parser = argparse.ArgumentParser(prog="python -m ideconsole", description=__doc__)
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("report", help="what ideconsole detects for this stdout, and why (the default)")
    demo_parser = sub.add_parser("demo", help="draw a simulated training")
    demo_parser.add_argument("--epochs", type=int, default=3)
    demo_parser.add_argument("--steps", type=int, default=40)
    demo_parser.add_argument("--delay", type=float, default=0.03, help="seconds per step")
    sub.add_parser("run", help="run SCRIPT [ARGS...] with ideconsole.install() applied")
    sub.add_parser("clean", help="turn a log full of \\r, \\b and colour codes into plain lines "
                                 "(FILE, or stdin)")
    args = parser.parse_args(argv)
    if args.command == "demo":
        demo(args.epochs, args.steps, args.delay)
    else:
        print(report())
    return 0


if __name__ == "__main__":
    sys.exit(main())
