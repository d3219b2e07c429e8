"""Nested tqdm loops as a training script writes them, for the end-to-end tests and the
README: `python tqdm_script.py [--tqdm ideconsole|plain] [--levels 2|3] [--inner-leave]
[--pause SECONDS] [--keras FLAVOUR]`. `plain` imports tqdm itself: stock, or ideconsole's under
`python -m ideconsole run`. With --keras, a tiny model trains and a callback runs a tqdm
loop in the middle of each epoch.
"""
import argparse
import logging
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def bars(kind):
    if kind == "plain":
        from tqdm import tqdm, trange
    else:
        from ideconsole.tqdm import tqdm, trange
    return tqdm, trange


def nested(tqdm, trange, levels, inner_leave, pause):
    names = ("outer", "inner") if levels == 2 else ("outer", "middle", "inner")
    steps = (3, 20) if levels == 2 else (2, 3, 10)
    log = logging.getLogger("train")

    def loop(level, path):
        for step in trange(steps[level], desc=names[level], leave=level == 0 or inner_leave):
            if level + 1 < len(names):
                loop(level + 1, path + (step,))
                continue
            time.sleep(pause)
            if all(outer == 1 for outer in path) and step == steps[-1] // 2:
                tqdm.write("a line written mid-bar")
                print("a print mid-bar")
                log.warning("a warning mid-bar")
    loop(0, ())
    print("done")


def keras_fit(tqdm, flavour, inner_leave):
    import numpy as np

    if flavour == "tf_keras":
        import tf_keras as keras
    else:
        import keras

    class Evaluation(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if batch == 7:  # after tf_keras has timed its first batches, or it warns
                for _ in tqdm(range(20), desc="inner", leave=inner_leave):
                    time.sleep(0.002)

    model = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    x, y = np.random.rand(96, 4), np.random.rand(96, 1)
    model.fit(x, y, batch_size=8, epochs=2, callbacks=[Evaluation()], verbose=1, shuffle=False)
    print("done")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tqdm", default="ideconsole", choices=["ideconsole", "plain"])
    parser.add_argument("--levels", type=int, default=2, choices=[2, 3])
    parser.add_argument("--inner-leave", action="store_true")
    parser.add_argument("--pause", type=float, default=0.004, help="seconds per innermost step")
    parser.add_argument("--keras", choices=["keras3", "tf_keras"])
    args = parser.parse_args()
    logging.basicConfig(stream=sys.stderr, format="%(levelname)s %(message)s")
    tqdm, trange = bars(args.tqdm)
    if args.keras:
        keras_fit(tqdm, args.keras, args.inner_leave)
    else:
        nested(tqdm, trange, args.levels, args.inner_leave, args.pause)


if __name__ == "__main__":
    main()
