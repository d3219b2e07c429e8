"""ideconsole's main job: a real training run, drawn through ideconsole.

A small convolutional network learns to tell squares from circles in images generated on
the fly, read through a Keras data generator the way Mask R-CNN's `fit_generator` reads
its data, for several epochs with validation. Run it in a terminal, in PyCharm, in
Windows cmd or with the output redirected to a file and compare with `--logger keras`.

    python scripts/train.py [--epochs 5] [--steps 60] [--keras 3|2] [--verbose 1]
"""
import argparse
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--steps", type=int, default=60, help="batches per epoch")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--keras", choices=["3", "2"], default="3",
                        help="3: Keras 3 (import keras); 2: tf_keras, or standalone Keras 2.2")
    parser.add_argument("--verbose", default="1", help="0, 1, 2 or auto, as in Keras")
    parser.add_argument("--logger", choices=["ideconsole", "keras"], default="ideconsole",
                        help="keras: Keras's own progress bar, to compare")
    return parser.parse_args(argv)


def load_keras(version):
    """(keras module, ideconsole's logger class, a name for the report)."""
    if version == "3":
        import keras

        from ideconsole.keras import ProgbarLogger

        return keras, ProgbarLogger, "Keras " + keras.__version__
    try:
        import tf_keras as keras

        from ideconsole.tf_keras import ProgbarLogger

        return keras, ProgbarLogger, "tf_keras " + keras.__version__
    except ImportError:  # TensorFlow 1.x: standalone Keras 2.2 is `import keras`
        import keras

        from ideconsole.keras import ProgbarLogger

        return keras, ProgbarLogger, "Keras " + keras.__version__


def shapes(rng, count, size=32):
    """Images of one filled square or circle each, with labels (1 = circle)."""
    import numpy as np

    images = np.zeros((count, size, size, 1), dtype="float32")
    labels = rng.randint(0, 2, size=count).astype("float32")
    grid_y, grid_x = np.mgrid[:size, :size]
    for index in range(count):
        radius = rng.randint(4, size // 4)
        cy, cx = rng.randint(radius, size - radius, size=2)
        if labels[index]:
            mask = (grid_y - cy) ** 2 + (grid_x - cx) ** 2 <= radius ** 2
        else:
            mask = (abs(grid_y - cy) <= radius) & (abs(grid_x - cx) <= radius)
        images[index, mask] = 1.0
    images += rng.normal(0, 0.1, images.shape).astype("float32")
    return images, labels


def build_model(keras):
    layers = keras.layers
    first = ([keras.Input(shape=(32, 32, 1)), layers.Conv2D(16, 3, activation="relu")]
             if keras.__version__.startswith("3") else
             [layers.Conv2D(16, 3, activation="relu", input_shape=(32, 32, 1))])
    model = keras.models.Sequential(first + [
        layers.MaxPooling2D(),
        layers.Conv2D(32, 3, activation="relu"),
        layers.MaxPooling2D(),
        layers.Flatten(),
        layers.Dense(32, activation="relu"),
        layers.Dense(1, activation="sigmoid"),
    ])
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    return model


def generator(rng, batch_size):
    while True:
        yield shapes(rng, batch_size)


def main(argv=None):
    args = parse_args(argv)
    import numpy as np

    keras, ProgbarLogger, name = load_keras(args.keras)
    verbose = args.verbose if args.verbose == "auto" else int(args.verbose)
    rng = np.random.RandomState(0)
    validation = shapes(rng, 256)
    model = build_model(keras)
    callbacks = [ProgbarLogger()] if args.logger == "ideconsole" else []
    print("Training a shape classifier with {} ({} progress bar)".format(name, args.logger))
    started = time.time()
    fit = getattr(model, "fit_generator", None) if name.startswith("Keras 2") else model.fit
    history = fit(generator(rng, args.batch_size), steps_per_epoch=args.steps, epochs=args.epochs,
                  validation_data=validation, verbose=verbose, callbacks=callbacks, shuffle=False)
    accuracy = history.history.get("val_accuracy", history.history.get("val_acc", [float("nan")]))[-1]
    print("Done in {:.1f}s: validation accuracy {:.3f}".format(time.time() - started, accuracy))
    return 0


if __name__ == "__main__":
    sys.exit(main())
