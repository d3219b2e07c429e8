"""ideconsole: training progress that renders right in PyCharm, Windows cmd, terminals,
notebooks and log files.

`Console` draws a status line on whatever stdout is; `Progress` is a bar over it; the
Keras callbacks live in `ideconsole.keras` and `ideconsole.tf_keras`, tqdm's bars in
`ideconsole.tqdm` (imported on demand, so `import ideconsole` never imports TensorFlow,
Keras or tqdm).
"""
import sys

__version__ = "0.1.0"
__all__ = ["Console", "Facts", "Profile", "Progress", "detect", "get_console", "install",
           "uninstall"]
# Imported when first used, so that a room needed alone (the relay's) starts fast.
_WHERE = {"Console": "console", "get_console": "console", "Facts": "detect", "Profile": "detect",
          "detect": "detect", "Progress": "progress"}


def __getattr__(name):
    if name in _WHERE:
        import importlib

        value = getattr(importlib.import_module("." + _WHERE[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError("module {!r} has no attribute {!r}".format(__name__, name))


if sys.version_info < (3, 7):  # noqa: UP036 (3.6 is served: it has no module __getattr__)
    from .console import Console, get_console  # noqa: E402, F401
    from .detect import Facts, Profile, detect  # noqa: E402, F401
    from .progress import Progress  # noqa: E402, F401


def install():
    """Make unmodified Keras code (fit(verbose=1), keras.utils.Progbar), for every Keras
    flavour that can be imported, and every tqdm bar draw through ideconsole."""
    from .patch import install as _install

    return _install()


def uninstall():
    """Undo `install()`."""
    from .patch import uninstall as _uninstall

    return _uninstall()
