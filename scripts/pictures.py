"""Regenerate the README's before/after pictures (docs/pictures/*.svg) from real runs.

Each picture runs scripts/train.py twice, with Keras's own progress bar and with
ideconsole's, where a console would run it (a pipe as PyCharm's run window, a terminal of
a given width, a log file), and shows what that console finally displays, rendered by the
console models of tests/consoles.py. Needs Keras and the `pictures` extra (rich, pyte).
PyCharm's picture shows standalone Keras 2.2, whose bar there is the original complaint:
`--keras2-python` names a Python that has it (TensorFlow 1.15, Python 3.6).

    python scripts/pictures.py [--keras2-python PATH] [--epochs 2] [--steps 12] [--only pycharm,...]
"""
import argparse
import fcntl
import io
import os
import pty
import struct
import subprocess
import sys
import termios

from rich.console import Console
from rich.text import Text

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))

from consoles import VT, LegacyConhost, LogReader, PyCharm  # noqa: E402

OUT = os.path.join(ROOT, "docs", "pictures")


def run(logger, args, env=None, columns=None, keras="3"):
    """What scripts/train.py wrote: through a terminal `columns` wide, or a pipe."""
    python = args.keras2_python if keras == "2" else sys.executable
    argv = [python, os.path.join(ROOT, "scripts", "train.py"), "--logger", logger, "--keras", keras,
            "--epochs", str(args.epochs), "--steps", str(args.steps)]
    environment = {key: value for key, value in os.environ.items()
                   if not key.startswith(("IDECONSOLE_", "PYCHARM", "TMUX", "COLUMNS", "NO_COLOR"))}
    environment.update(PYTHONPATH=ROOT, PYTHONIOENCODING="utf-8", TF_CPP_MIN_LOG_LEVEL="3",
                       TERM="xterm-256color", **(env or {}))
    if columns is None:
        return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=environment,
                              check=True).stdout.decode("utf-8")
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
    process = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=subprocess.DEVNULL, env=environment)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    process.wait()
    return b"".join(chunks).decode("utf-8")


def plain(lines):
    return [Text(line) for line in lines]


def coloured(screen):
    """A pyte screen's rows (scrollback first) with their colours and bold."""
    rows = list(screen.screen.history.top) + [screen.screen.buffer[y] for y in range(screen.screen.lines)]
    texts = []
    for row in rows:
        text, run_style, run_text = Text(), None, ""
        for x in range(screen.columns):
            cell = row[x]
            colour = [cell.fg.replace("bright", "bright_")] if cell.fg != "default" else []
            style = " ".join(["bold"] * cell.bold + colour)
            if style != run_style:
                text.append(run_text, run_style or "")
                run_style, run_text = style, ""
            run_text += cell.data or " "
        text.append(run_text, run_style or "")
        text.rstrip()
        texts.append(text)
    while texts and not texts[-1].plain:
        texts.pop()
    return texts


def cat_v(text, width):
    """A log file as `cat -v` shows it, each line cut to the picture's width."""
    out = []
    for line in text.split("\n")[:-1]:
        shown = "".join("^" + chr(ord(c) + 64) if ord(c) < 32 else
                        "M-" + c if ord(c) > 127 and not c.isprintable() else c for c in line)
        shown = shown.replace("\x1b", "^[")
        out.append(Text(shown if len(shown) <= width else shown[:width - 1] + "…"))
    return out


def picture(name, title, width, stock, ours, note=""):
    console = Console(record=True, width=width, file=io.StringIO(), color_system="truecolor")
    console.print(Text("Keras's own progress bar" + note, style="bold red"))
    for line in stock:
        console.print(line, no_wrap=True, overflow="ignore", crop=True)
    console.print()
    console.print(Text("ideconsole", style="bold green"))
    for line in ours:
        console.print(line, no_wrap=True, overflow="ignore", crop=True)
    path = os.path.join(OUT, name + ".svg")
    with open(path, "w", encoding="utf-8") as file:
        file.write(console.export_svg(title=title))
    print("{}: {} bytes".format(os.path.relpath(path, ROOT), os.path.getsize(path)))


def pycharm(args):
    env = {"PYCHARM_HOSTED": "1"}
    stock = PyCharm().feed_all([run("keras", args, env, keras="2")]).lines()
    ours = PyCharm().feed_all([run("ideconsole", args, env, keras="2")]).lines()
    picture("pycharm", "PyCharm's run window, Keras 2.2", 120, plain(stock), plain(ours))


def windows7(args):
    # Keras sees a console (isatty) there and redraws with colour codes; ideconsole takes the
    # legacy console's profile (backspaces, ASCII, no escape codes).
    stock = LegacyConhost(80, codepage=437).feed_all([run("keras", args, columns=80)]).lines()
    ours = LegacyConhost(80, codepage=437).feed_all(
        [run("ideconsole", args, {"IDECONSOLE_CONSOLE": "conhost-legacy", "COLUMNS": "80"})]).lines()
    picture("windows7", "Windows 7 cmd.exe (code page 437)", 80, plain(stock), plain(ours))


def narrow(args):
    # pyte, like xterm and GNOME Terminal, stops a backspace at the left edge: Keras's "\b" * n
    # cannot climb back over the rows its long line wrapped onto (tmux's backspace can)
    columns = 50
    stock = VT(columns, rows=200).feed_all([run("keras", args, columns=columns)])
    ours = VT(columns, rows=200).feed_all([run("ideconsole", args, columns=columns)])
    picture("narrow", "xterm or GNOME Terminal, 50 columns wide", columns, coloured(stock), coloured(ours),
            " (xterm)")


def log(args):
    stock, ours = run("keras", args), run("ideconsole", args)
    for text in (stock, ours):
        assert LogReader().feed_all([text]).lines()  # a log with lines in it
    note = " ({:,} bytes; ideconsole: {:,})".format(len(stock.encode()), len(ours.encode()))
    picture("log", "python train.py > train.log; cat -v train.log", 110, cat_v(stock, 110),
            cat_v(ours, 110), note)


PICTURES = {"pycharm": pycharm, "windows7": windows7, "narrow": narrow, "log": log}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--only", default=",".join(PICTURES), help="comma-separated: " + ", ".join(PICTURES))
    parser.add_argument("--keras2-python", default=sys.executable,
                        help="a Python with standalone Keras 2.2, for PyCharm's picture")
    args = parser.parse_args(argv)
    os.makedirs(OUT, exist_ok=True)
    for name in args.only.split(","):
        PICTURES[name](args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
