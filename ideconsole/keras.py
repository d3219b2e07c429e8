"""ideconsole's ProgbarLogger and Progbar for `import keras`: Keras 3 (any backend), and
standalone Keras 2.2.x on TensorFlow 1.x (`fit`, `fit_generator`).

    from ideconsole.keras import ProgbarLogger
    model.fit(x, y, epochs=40, callbacks=[ProgbarLogger()])
"""
from typing import Optional

import keras

from .callback import ProgbarCompat, ProgressCallback
from .console import Console

KERAS2 = keras.__version__.startswith("2.")
# standalone Keras 2.2 and 2.3 have a verbose=2 layout of their own; later 2.x are tf.keras's
FLAVOUR = ("keras2.2" if keras.__version__.split(".")[:2] in (["2", "2"], ["2", "3"])
           else "keras2" if KERAS2 else "keras3")
ProgbarBase = keras.utils.Progbar if hasattr(keras.utils, "Progbar") else keras.utils.generic_utils.Progbar


class ProgbarLogger(ProgressCallback, keras.callbacks.ProgbarLogger):
    """Keras's ProgbarLogger, drawn right on every console. Pass it in `callbacks=`: Keras
    then adds no bar of its own (on Keras 2.2, whose `fit` and `fit_generator` always add
    one, this logger replaces that one with a silent callback as training is set up)."""

    flavour = FLAVOUR

    def __init__(self, *args, console: Optional[Console] = None, verbose=None, **kwargs):
        """Keras's own parameters, unchanged; then ideconsole's, by keyword: `console` (where
        to draw) and `verbose` (overrides fit's)."""
        super().__init__(*args, **kwargs)
        self._ideconsole_init(console, verbose)


class Progbar(ProgbarCompat, ProgbarBase):
    """`keras.utils.Progbar`, drawn through ideconsole."""

    flavour = FLAVOUR
