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
ProgbarBase = keras.utils.Progbar if hasattr(keras.utils, "Progbar") else keras.utils.generic_utils.Progbar


class ProgbarLogger(ProgressCallback, keras.callbacks.ProgbarLogger):
    """Keras's ProgbarLogger, drawn right on every console. Pass it in `callbacks=`: Keras
    then adds no bar of its own (on Keras 2.2, whose `fit` and `fit_generator` always add
    one, this logger replaces that one with a silent callback as training is set up)."""

    flavour = "keras2" if KERAS2 else "keras3"

    def __init__(self, console: Optional[Console] = None, verbose=None, count_mode: str = "steps",
                 stateful_metrics=None):
        if KERAS2:
            super().__init__(count_mode=count_mode, stateful_metrics=stateful_metrics)
        else:
            super().__init__()
        self._ideconsole_init(console, verbose)


class Progbar(ProgbarCompat, ProgbarBase):
    """`keras.utils.Progbar`, drawn through ideconsole."""

    flavour = "keras2" if KERAS2 else "keras3"
