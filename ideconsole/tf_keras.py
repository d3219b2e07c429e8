"""ideconsole's ProgbarLogger and Progbar for tf_keras (Keras 2 for TensorFlow 2.16+, also
`tf.keras` under TF_USE_LEGACY_KERAS=1, and `tf.keras` of TensorFlow 2.x before 2.16).

    from ideconsole.tf_keras import ProgbarLogger
    model.fit(x, y, epochs=40, callbacks=[ProgbarLogger()])
"""
from typing import Optional

try:
    import tf_keras as _keras
except ImportError:  # TensorFlow before 2.16: tf.keras is Keras 2
    from tensorflow import keras as _keras

from .callback import ProgbarCompat, ProgressCallback
from .console import Console


class ProgbarLogger(ProgressCallback, _keras.callbacks.ProgbarLogger):
    """tf_keras's ProgbarLogger, drawn right on every console. Metric tensors are
    converted only for the lines actually drawn, not on every batch."""

    flavour = "keras2"

    def __init__(self, *args, console: Optional[Console] = None, verbose=None, **kwargs):
        """Keras's own parameters, unchanged; then ideconsole's, by keyword: `console` (where
        to draw) and `verbose` (overrides fit's)."""
        super().__init__(*args, **kwargs)
        self._ideconsole_init(console, verbose)


class Progbar(ProgbarCompat, _keras.utils.Progbar):
    """`tf_keras.utils.Progbar`, drawn through ideconsole."""

    flavour = "keras2"
