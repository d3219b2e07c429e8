"""A small real training run for the integration tests: `python fit_script.py FLAVOUR
[--epochs N] [--steps N] [--verbose V] [--logger ideconsole|stock|none] [--chatter] ...`
(the other options: `--help`).

FLAVOUR is keras3, tf_keras or keras2 (standalone Keras 2.2 with fit_generator). Data is
generated here; the model is tiny so that the console, not the maths, is what is tested.
"""
import argparse
import logging
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def keras_module(flavour):
    if flavour == "tf_keras":
        import tf_keras

        return tf_keras
    import keras

    return keras


def logger_class(flavour):
    if flavour == "tf_keras":
        from ideconsole.tf_keras import ProgbarLogger
    else:
        from ideconsole.keras import ProgbarLogger
    return ProgbarLogger


def progbar_class(keras, flavour):
    if flavour == "keras2":
        from keras.utils.generic_utils import Progbar

        return Progbar
    return keras.utils.Progbar


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("flavour", choices=["keras3", "tf_keras", "keras2"])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--verbose", default="1")
    parser.add_argument("--logger", default="ideconsole", choices=["ideconsole", "stock", "none"])
    parser.add_argument("--chatter", action="store_true", help="print and log mid-epoch")
    parser.add_argument("--evaluate", action="store_true")
    parser.add_argument("--second-log", metavar="PATH", help="a second ideconsole logger, writing PATH")
    parser.add_argument("--install-late", action="store_true",
                        help="make the logger and a Progbar, then ideconsole.install(), then train")
    parser.add_argument("--unknown-length", action="store_true", help="a tf.data dataset of unknown length")
    parser.add_argument("--not-interactive", action="store_true",
                        help="Keras's disable_interactive_logging(), absl logging at INFO")
    parser.add_argument("--attributes", action="store_true", help="print the logger's target and seen")
    parser.add_argument("--others", action="store_true",
                        help="mid-epoch, a plain tqdm loop (its own \\r frames, on stderr) and C code "
                             "that leaves a line unfinished")
    parser.add_argument("--workers", type=int, default=0,
                        help="forked data workers, each writing a line to stderr per batch")
    args = parser.parse_args()
    verbose = args.verbose if args.verbose == "auto" else int(args.verbose)

    import numpy as np

    keras = keras_module(args.flavour)
    logging.getLogger("tensorflow").setLevel(logging.ERROR)  # TF 1.15's deprecation notices
    chatter = logging.getLogger("train")
    chatter.addHandler(logging.StreamHandler(sys.stderr))  # made before training, like TF's
    rng = np.random.RandomState(0)
    batch = 16
    x = rng.rand(batch * args.steps, 8).astype("float32")
    y = (x.sum(axis=1) > 4).astype("float32")

    layers = keras.layers
    model = keras.models.Sequential([layers.Dense(8, activation="relu", input_shape=(8,)),
                                     layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="sgd", loss="binary_crossentropy", metrics=["accuracy"])

    class Chatter(keras.callbacks.Callback):
        def on_batch_end(self, batch_index, logs=None):
            if batch_index == args.steps // 2:
                print("checkpoint: half an epoch")
                chatter.warning("slow batch %d", batch_index)

    class Others(keras.callbacks.Callback):
        def on_batch_end(self, batch_index, logs=None):
            if batch_index == args.steps // 2:
                from tqdm import tqdm

                for _ in tqdm(range(30), desc="evaluating", mininterval=0):
                    pass
                os.write(1, b"C code began a line")  # and never ends it

    callbacks = [Chatter()] if args.chatter else []
    if args.others:
        callbacks.append(Others())
    if args.logger == "ideconsole":
        callbacks.append(logger_class(args.flavour)())
    elif args.logger == "stock":
        callbacks.append(keras.callbacks.ProgbarLogger(count_mode="steps")
                         if args.flavour != "keras3" else keras.callbacks.ProgbarLogger())
    if args.second_log:
        from ideconsole import Console

        callbacks.append(logger_class(args.flavour)(console=Console(open(args.second_log, "w"))))
    early_bar = None
    if args.install_late:
        import ideconsole

        early_bar = progbar_class(keras, args.flavour)(4)
        ideconsole.install()
    if args.not_interactive:
        from absl import logging as absl_logging

        (keras.config if args.flavour == "keras3" else keras.utils).disable_interactive_logging()
        absl_logging.set_verbosity(absl_logging.INFO)

    def batches():
        while True:
            for start in range(0, len(x), batch):
                if args.workers:
                    sys.stderr.write("data worker line\n")
                    sys.stderr.flush()
                yield x[start:start + batch], y[start:start + batch]

    workers = {"workers": args.workers, "use_multiprocessing": True} if args.workers else {}

    validation = (x[:64], y[:64])
    if args.unknown_length:
        import tensorflow as tf

        data = tf.data.Dataset.from_tensor_slices((x, y)).batch(batch).filter(lambda *_: True)
        model.fit(data, epochs=args.epochs, validation_data=validation, verbose=verbose, callbacks=callbacks)
    elif args.flavour == "keras2":
        model.fit_generator(batches(), steps_per_epoch=args.steps, epochs=args.epochs,
                            validation_data=validation, verbose=verbose, callbacks=callbacks, **workers)
    else:
        class Batches(keras.utils.Sequence if args.flavour == "tf_keras" else keras.utils.PyDataset):
            def __init__(self):
                super().__init__(**workers)

            def __len__(self):
                return args.steps

            def __getitem__(self, index):
                if args.workers:
                    sys.stderr.write("data worker line\n")
                    sys.stderr.flush()
                return x[index * batch:(index + 1) * batch], y[index * batch:(index + 1) * batch]

        model.fit(Batches(), epochs=args.epochs, validation_data=validation, verbose=verbose,
                  callbacks=callbacks)
    if args.evaluate and args.flavour == "keras2":  # its evaluate() takes no callbacks
        model.evaluate(x, y, batch_size=batch, verbose=verbose)
    elif args.evaluate:
        model.evaluate(x, y, batch_size=batch, verbose=verbose, callbacks=callbacks[-1:])
    if early_bar is not None:
        for step in range(1, 5):
            early_bar.update(step, [("extra", 1.0)])
    if args.attributes:
        logger = callbacks[-1]
        print("target {} seen {} epochs {}".format(logger.target, logger.seen, logger.epochs))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
