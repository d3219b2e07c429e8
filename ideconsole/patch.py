"""`install()`: unmodified Keras and tqdm code draws through ideconsole.

Keras's own `ProgbarLogger` and `Progbar` classes, for every Keras flavour, and tqdm's
`tqdm` class get ideconsole's methods: already imported ones at once, the others when they
are first imported (an import hook). Patching the classes themselves, rather than the names
that refer to them, reaches every place they are created (tqdm's subclasses included), and
instances made before install(); it keeps `isinstance` checks true, and is undone by
`uninstall()`.
"""
import importlib.abc
import importlib.util
import sys
import threading

from . import faults, session
from .callback import ProgbarCompat, ProgressCallback, _passed
from .console import get_console
from .tqdm_bars import TqdmMethods, hand_back, stock_methods, take_over

# module -> (class name, ideconsole's methods for it)
TARGETS = {
    "keras.src.callbacks.progbar_logger": ("ProgbarLogger", ProgressCallback),   # Keras 3
    "keras.src.utils.progbar": ("Progbar", ProgbarCompat),
    "tf_keras.src.callbacks": ("ProgbarLogger", ProgressCallback),              # tf_keras
    "tf_keras.src.utils.generic_utils": ("Progbar", ProgbarCompat),
    "keras.callbacks": ("ProgbarLogger", ProgressCallback),                     # Keras 2.2
    "keras.utils.generic_utils": ("Progbar", ProgbarCompat),
    "tensorflow.python.keras.callbacks": ("ProgbarLogger", ProgressCallback),   # tf.keras, TF 2.x < 2.16
    "tensorflow.python.keras.utils.generic_utils": ("Progbar", ProgbarCompat),
    "tqdm.std": ("tqdm", TqdmMethods),                                          # tqdm, tqdm.auto
}
_MISSING = object()
_SKIP = ("__dict__", "__weakref__", "__module__", "__doc__", "__qualname__", "__init__",
         "_ideconsole_init")
_patched = {}  # class -> {attribute: original value or _MISSING}
_lock = threading.RLock()


def _progbar_init(original):
    """Keras's own constructor, then the one thing ideconsole needs to know from the call:
    whether the caller chose the interval (the rest is read lazily, so that a Progbar made
    before install() works as well)."""
    def __init__(self, *args, **kwargs):
        original(self, *args, **kwargs)
        ProgbarCompat._ideconsole_init(self, None, _passed(original, (self,) + args, kwargs, "interval"))
    return __init__


def _patch_class(cls, methods) -> None:
    if cls in _patched or issubclass(cls, methods):
        return
    saved = {}
    replacements = {name: value for name, value in vars(methods).items() if name not in _SKIP}
    if methods is TqdmMethods:
        replacements.update(stock_methods(cls))
    else:
        if methods is ProgbarCompat:
            replacements["__init__"] = _progbar_init(cls.__init__)
        replacements["flavour"] = ("keras3" if cls.__module__.startswith("keras.src.")
                                   else "keras2.2" if cls.__module__.startswith("keras.") else "keras2")
    for name, value in replacements.items():
        saved[name] = cls.__dict__.get(name, _MISSING)
        setattr(cls, name, value)
    _patched[cls] = saved
    if methods is TqdmMethods:
        take_over(cls)


def _patch_module(module) -> None:
    name, methods = TARGETS[module.__name__]
    cls = getattr(module, name, None)
    if isinstance(cls, type):
        with _lock:
            _patch_class(cls, methods)


class _Finder(importlib.abc.MetaPathFinder):
    """Patches a target module right after it is first imported."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname not in TARGETS:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None and spec.loader is not None and hasattr(spec.loader, "exec_module"):
                spec.loader = _PatchingLoader(spec.loader)
                return spec
            if spec is not None:
                return None
        return None


class _PatchingLoader(importlib.abc.Loader):
    def __init__(self, loader):
        self._loader = loader

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        self._loader.exec_module(module)
        _patch_module(module)

    def __getattr__(self, name):
        return getattr(self._loader, name)


_finder = _Finder()


def install() -> None:
    """Draw every Keras and tqdm progress bar of this process through ideconsole, and own
    descriptors 1 and 2 from now on where capture applies (see `session`)."""
    with _lock:
        if _finder not in sys.meta_path:
            sys.meta_path.insert(0, _finder)
        for name in TARGETS:
            module = sys.modules.get(name)
            if module is not None:
                _patch_module(module)
    try:
        session.start(get_console())
    except Exception:  # no capture rather than no training
        faults.swallowed("starting capture at install()")


def uninstall() -> None:
    """Give Keras its own ProgbarLogger and Progbar back, and tqdm its own drawing."""
    with _lock:
        if _finder in sys.meta_path:
            sys.meta_path.remove(_finder)
        for cls, saved in list(_patched.items()):
            for name, value in saved.items():
                if value is _MISSING:
                    delattr(cls, name)
                else:
                    setattr(cls, name, value)
            del _patched[cls]
            if "_stock_display" in saved:  # tqdm's class: its bars up now go back to it
                hand_back(cls)


def installed() -> bool:
    return _finder in sys.meta_path
