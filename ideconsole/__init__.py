"""ideconsole: training progress that renders right in PyCharm, Windows cmd, terminals,
notebooks and log files.

`Console` draws a status line on whatever stdout is; `Progress` is a bar over it; the
Keras callbacks live in `ideconsole.keras` and `ideconsole.tf_keras`, tqdm's bars in
`ideconsole.tqdm` (imported on demand, so `import ideconsole` never imports TensorFlow,
Keras or tqdm).
"""
from .console import Console, get_console
from .detect import Facts, Profile, detect
from .progress import Progress

__version__ = "0.1.0"
__all__ = ["Console", "Facts", "Profile", "Progress", "detect", "get_console", "install",
           "uninstall"]


def install():
    """Make unmodified Keras code (fit(verbose=1), keras.utils.Progbar), for every Keras
    flavour that can be imported, and every tqdm bar draw through ideconsole."""
    from .patch import install as _install

    return _install()


def uninstall():
    """Undo `install()`."""
    from .patch import uninstall as _uninstall

    return _uninstall()
