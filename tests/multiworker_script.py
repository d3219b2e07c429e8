"""One worker of a real multi-worker training run for tests/test_multiworker.py:
`python multiworker_script.py FLAVOUR [--epochs N] [--steps N]`, with TF_CONFIG set by the
launcher (the test) as for any tf.distribute.MultiWorkerMirroredStrategy job.

FLAVOUR is tf_keras or keras3. Data is generated here (the same on every worker) and sharded
by data; the model is tiny so that the console, not the maths, is what is tested. Progress
goes through ideconsole's ProgbarLogger, which decides from TF_CONFIG whether this worker
draws.
"""
import argparse
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

GLOBAL_BATCH = 16


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("flavour", choices=["tf_keras", "keras3"])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--steps", type=int, default=4)
    args = parser.parse_args()
    index = json.loads(os.environ["TF_CONFIG"])["task"]["index"]

    import numpy as np
    import tensorflow as tf

    if args.flavour == "tf_keras":
        import tf_keras as keras

        from ideconsole.tf_keras import ProgbarLogger
    else:
        import keras

        from ideconsole.keras import ProgbarLogger
    sys.stderr.write("worker {}: {} {}, TensorFlow {}\n".format(
        index, args.flavour, keras.__version__, tf.__version__))
    sys.stderr.flush()

    # Two TensorFlow processes share the machine: one thread each for the maths.
    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(2)
    strategy = tf.distribute.MultiWorkerMirroredStrategy()

    rng = np.random.RandomState(0)
    x = rng.rand(GLOBAL_BATCH * args.steps, 8).astype("float32")
    y = (x.sum(axis=1) > 4).astype("float32")
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    train = tf.data.Dataset.from_tensor_slices((x, y)).batch(GLOBAL_BATCH).repeat().with_options(options)
    validation = (tf.data.Dataset.from_tensor_slices((x[:2 * GLOBAL_BATCH], y[:2 * GLOBAL_BATCH]))
                  .batch(GLOBAL_BATCH).with_options(options))

    with strategy.scope():
        model = keras.Sequential([keras.Input(shape=(8,)),
                                  keras.layers.Dense(8, activation="relu"),
                                  keras.layers.Dense(1, activation="sigmoid")])
        model.compile(optimizer="sgd", loss="binary_crossentropy", metrics=["accuracy"])
    model.fit(train, epochs=args.epochs, steps_per_epoch=args.steps, validation_data=validation,
              validation_steps=2, verbose=1, callbacks=[ProgbarLogger()])
    print("worker {} finished".format(index))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
