"""Shared fixtures: streams that record what the program wrote, in order, from both
stdout and stderr, so a console model can replay it."""
import importlib
import importlib.util
import logging
import os
import sys
import weakref

import pytest

sys.path.insert(0, __import__("os").path.dirname(__file__))

from consoles import screen  # noqa: E402

from ideconsole.console import Console  # noqa: E402
from ideconsole.detect import Facts, detect  # noqa: E402

# ideconsole's module-global state, by module: what a test can leave behind for the next (a
# console with a bar up, a capture, patched classes, a tried start). A module or name that a
# version lacks is skipped: the reset covers what there is. A module's `_current` that the test
# changed is ended with the module's `end()` first.
GLOBAL_STATE = {
    "ideconsole.console": ("_consoles", "_kept_consoles"),
    "ideconsole.session": ("_live", "_cell_hooks", "_before_close"),
    "ideconsole.capture": ("_current", "_tried", "_before_end"),
    "ideconsole.patch": ("_patched",),
    "ideconsole.callback": ("_absl_console",),
}
CONTAINERS = (dict, set, list, weakref.WeakValueDictionary, weakref.WeakSet)


def snapshot():
    """What ideconsole may change in this process, as it is now: its module-global state,
    sys.stdout, sys.stderr, sys.excepthook, its import hook, the logging handlers' streams and
    tqdm's open bars. Returns the function that puts all of it back."""
    saved = []
    for name, attributes in GLOBAL_STATE.items():
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        for attribute in attributes:
            if hasattr(module, attribute):
                value = getattr(module, attribute)
                # weak containers copied weakly: nothing is kept alive for the snapshot
                saved.append((module, attribute, value, type(value)(value) if isinstance(value, CONTAINERS)
                              else None))
    hooks = (sys.stdout, sys.stderr, sys.excepthook)
    finders = list(sys.meta_path)
    handlers = [(handler, handler.stream) for handler in _stream_handlers()]
    tqdm_class = getattr(sys.modules.get("tqdm.std"), "tqdm", None)
    bars = weakref.WeakSet(getattr(tqdm_class, "_instances", ()))

    def restore():
        patch = sys.modules["ideconsole.patch"]
        if getattr(patch, "_patched", None) and hasattr(patch, "uninstall"):
            patch.uninstall()  # the classes themselves, tqdm's bars up included, go back first
        for module, attribute, value, _ in saved:
            if attribute == "_current" and getattr(module, attribute) not in (None, value):
                getattr(module, "end", lambda: None)()
        sys.stdout, sys.stderr, sys.excepthook = hooks
        # ideconsole's import hook goes; those of packages imported meanwhile (six's) stay
        sys.meta_path[:] = [finder for finder in sys.meta_path
                            if finder in finders or not type(finder).__module__.startswith("ideconsole")]
        for handler, stream in handlers:
            handler.stream = stream
        for module, attribute, value, contents in saved:
            setattr(module, attribute, value)
            if isinstance(value, list):
                value[:] = contents
            elif contents is not None:
                value.clear()
                value.update(contents)
        for bar in set(getattr(tqdm_class, "_instances", ())) - set(bars):
            tqdm_class._instances.discard(bar)  # left open by the test: no row kept for it

    return restore


def _stream_handlers():
    loggers = [logging.getLogger()] + [logger for logger in list(logging.Logger.manager.loggerDict.values())
                                       if isinstance(logger, logging.Logger)]
    return [handler for logger in loggers for handler in logger.handlers if hasattr(handler, "stream")]


@pytest.fixture(autouse=True)
def ideconsole_state_put_back():
    """Every test leaves ideconsole as it found it, even one that fails half way (a bar up,
    install() not undone): the tests after it do not fail because of it."""
    restore = snapshot()
    yield
    restore()


class Recorder:
    """A text stream that appends (stream name, text) to a shared list of writes."""

    def __init__(self, name, writes, encoding="utf-8", tty=False):
        self.name, self.writes, self.encoding, self.tty = name, writes, encoding, tty
        self.closed = False

    def write(self, text):
        if self.closed:
            raise ValueError("I/O operation on closed file.")
        text.encode(self.encoding)  # like a real stream: UnicodeEncodeError if it cannot
        self.writes.append((self.name, text))
        return len(text)

    def flush(self):
        pass

    def isatty(self):
        return self.tty


# model name -> (forced console, environment, facts)
SETUPS = {
    "vt80": ("vt", {"COLUMNS": "80"}, Facts(isatty=True)),
    "vt40": ("vt", {"COLUMNS": "40"}, Facts(isatty=True)),
    "pycharm": ("pycharm", {"PYCHARM_HOSTED": "1"}, Facts()),
    "conhost-437": ("conhost-legacy", {"COLUMNS": "80"}, Facts(isatty=True, codepage=437)),
    "conhost-936": ("conhost-legacy", {"COLUMNS": "60"}, Facts(isatty=True, codepage=936)),
    "log": ("log", {}, Facts()),
    "gitlab": ("ci", {"GITLAB_CI": "true", "CI": "true"}, Facts()),
}


def model_for(name):
    console, env, facts = SETUPS[name]
    if name.startswith("vt"):
        return screen("vt", columns=int(env["COLUMNS"]))
    if name.startswith("conhost"):
        return screen(name, columns=int(env["COLUMNS"]))
    return screen(name)


class Setup:
    """A Console on recorder streams, the model of the console it believes it is on, and
    a way to replay what was written."""

    def __init__(self, name, monkeypatch, interval=None):
        self.name = name
        console, env, facts = SETUPS[name]
        self.writes = []
        self.stdout = Recorder("stdout", self.writes)
        self.stderr = Recorder("stderr", self.writes)
        monkeypatch.setattr(sys, "stdout", self.stdout)
        monkeypatch.setattr(sys, "stderr", self.stderr)
        profile = detect(facts, env, console=console, interval=interval)
        self.console = Console(self.stdout, profile=profile, stderr=self.stderr)

    def screen(self):
        return model_for(self.name).feed_all(self.writes)

    def raw(self):
        return "".join(text for _, text in self.writes)


@pytest.fixture
def make_setup(monkeypatch):
    """Call it inside the test: pytest puts its own capture streams back into sys.stdout
    and sys.stderr between a fixture's setup and the test."""
    return lambda name, **kw: Setup(name, monkeypatch, **kw)


@pytest.fixture(params=sorted(SETUPS))
def console_name(request):
    return request.param


KERAS_FLAVOURS = ("keras3", "tf_keras", "keras2")


def _keras_major():
    """The installed Keras's major version, without importing it (that imports TensorFlow)."""
    try:
        from importlib.metadata import version
    except ImportError:  # Python 3.6 and 3.7
        from pkg_resources import get_distribution

        def version(name):
            return get_distribution(name).version
    try:
        return version("keras").split(".")[0]
    except Exception:
        return None


def keras_flavours(supported=KERAS_FLAVOURS):
    """{flavour: why it cannot run here, or None} for each of `supported`. The tox envs
    keras3, tfkeras and legacy name theirs in IDECONSOLE_TEST_KERAS; a flavour named there
    that cannot be imported is an error, not a skip."""
    if importlib.util.find_spec("tensorflow") is None:
        why = "TensorFlow is not installed here (the tox envs keras3, tfkeras and legacy have it)"
        return {flavour: why for flavour in supported}
    major = _keras_major() if importlib.util.find_spec("keras") else None
    missing = {"keras3": None if major == "3" else "Keras 3 is not installed here",
               "tf_keras": None if importlib.util.find_spec("tf_keras") else "tf_keras is not installed here",
               "keras2": None if major == "2" else "standalone Keras 2 is not installed here"}
    wanted = os.environ.get("IDECONSOLE_TEST_KERAS")
    if wanted in supported and missing[wanted]:
        raise RuntimeError("IDECONSOLE_TEST_KERAS={}: {}".format(wanted, missing[wanted]))
    return {flavour: missing[flavour] or (None if wanted in (None, flavour)
                                          else "IDECONSOLE_TEST_KERAS=" + wanted)
            for flavour in supported}


def flavour_params(supported=KERAS_FLAVOURS):
    """pytest params for the flavours, each skipped with its reason where it cannot run."""
    return [pytest.param(flavour, marks=pytest.mark.skipif(bool(why), reason=why or ""))
            for flavour, why in keras_flavours(supported).items()]
