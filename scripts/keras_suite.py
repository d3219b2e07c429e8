"""Keras's own progress and callback tests, run stock, under `ideconsole.install()` and with
ideconsole's subclasses in place of Keras's `ProgbarLogger` and `Progbar`; prints the tests
whose outcome differs from stock.

    python scripts/keras_suite.py KERAS_CHECKOUT TF_KERAS_CHECKOUT [--modes ...] [-k EXPR]

Each SOURCE_TREE is a checkout of github.com/keras-team/keras or keras-team/tf-keras at the
tag of the installed version (the tests are not in the wheels). Nothing of it is copied into
this repository: the test files are copied to a temporary folder (tf_keras's with its
`tf_keras.X` imports rewritten to `tf_keras.src.X`, as its pip_build.py does) and run there.
Exit status 0 when nothing differs but the known difference listed in KNOWN.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ElementTree

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODES = ("stock", "install", "subclasses")
SUITES = {
    # flavour: (a file that tells the tree apart, test files, pytest -k selection)
    "keras3": ("keras/src/utils/progbar.py",
               ["keras/src/utils/progbar_test.py", "keras/src/callbacks/callback_test.py",
                "keras/src/callbacks/learning_rate_scheduler_test.py",
                "keras/src/callbacks/reduce_lr_on_plateau_test.py", "keras/src/utils/io_utils_test.py"],
               "ProgbarTest or CallbackTest or verbose_logging or IoUtils"),
    "tf_keras": ("tf_keras/callbacks.py", ["tf_keras/callbacks_test.py"],
                 "CallbackCountsTest or progbar or Progbar or verbose or logging or warning"
                 " or batch_hooks or logs_conversion or callback_order or passed_floats"),
}
KNOWN = {
    "test_ProgbarLogger_verbose_2_nonblocking":
        "expects an exception raised by a metric's .numpy() at epoch end to reach fit(); "
        "ideconsole keeps faults of the progress display away from training",
}

CONFTEST = r'''
import os
import sys

MODE = os.environ["IDECONSOLE_SUITE_MODE"]
FLAVOUR = os.environ["IDECONSOLE_SUITE_FLAVOUR"]


def pytest_configure(config):
    for marker in ("requires_trainable_backend", "multi_device"):
        config.addinivalue_line("markers", marker + ": a marker of Keras's own suite")
    if MODE == "install":
        import ideconsole

        ideconsole.install()
    elif MODE == "subclasses":
        _swap()


def _swap():
    """Every module of the flavour that names Keras's ProgbarLogger or Progbar (the public
    names, and the ones fit() and the tests use) names ideconsole's subclass instead."""
    if FLAVOUR == "tf_keras":
        import tf_keras  # noqa: F401 (imports every module that could name them)
        import ideconsole.tf_keras as ours
        package = "tf_keras"
    else:
        import keras  # noqa: F401
        import ideconsole.keras as ours
        package = "keras"
    stock = {"ProgbarLogger": ours.ProgbarLogger.__mro__[2], "Progbar": ours.Progbar.__mro__[2]}
    for name, module in list(sys.modules.items()):
        if module is None or name.split(".")[0] != package:
            continue
        for attribute, original in stock.items():
            if getattr(module, attribute, None) is original:
                setattr(module, attribute, getattr(ours, attribute))
'''


def tf_keras_imports(text):
    """pip_build.py's rewrite of `tf_keras.X` imports to `tf_keras.src.X`."""
    lines = []
    for line in text.split("\n"):
        if "tf_keras.protobuf" not in line:
            if line.strip() == "import tf_keras":
                line = line.replace("import tf_keras", "import tf_keras.src as tf_keras")
            line = line.replace("import tf_keras.", "import tf_keras.src.")
            line = line.replace("from tf_keras.", "from tf_keras.src.")
            line = line.replace("from tf_keras import", "from tf_keras.src import")
            line = line.replace("import tf_keras as ", "import tf_keras.src as ")
            line = line.replace('globals(), "tf_keras.', 'globals(), "tf_keras.src.')
        lines.append(line)
    return "\n".join(lines)


def flavour_of(tree):
    for flavour, (marker, _, _) in SUITES.items():
        if os.path.isfile(os.path.join(tree, marker)):
            return flavour
    raise SystemExit("{}: neither a keras nor a tf-keras checkout".format(tree))


def tree_version(tree, flavour):
    path = "keras/src/version.py" if flavour == "keras3" else "tf_keras/__init__.py"
    try:
        with open(os.path.join(tree, path)) as source:
            found = re.search(r'__version__ = "([^"]+)"', source.read())
        return found.group(1) if found else None
    except OSError:
        return None


def installed_version(flavour):
    code = "import {0}; print({0}.__version__)".format("keras" if flavour == "keras3" else "tf_keras")
    result = subprocess.run([sys.executable, "-c", code], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, env=environment())
    return result.stdout.strip() or None


def environment(**extra):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", KERAS_BACKEND="tensorflow")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [ROOT, env.get("PYTHONPATH")]))
    env.update(extra)
    return env


def prepare(tree, flavour, folder):
    files = []
    for path in SUITES[flavour][1]:
        with open(os.path.join(tree, path)) as source:
            text = source.read()
        if flavour == "tf_keras":
            text = tf_keras_imports(text)
        target = os.path.join(folder, os.path.basename(path))
        with open(target, "w") as copy:
            copy.write(text)
        files.append(os.path.basename(path))
    with open(os.path.join(folder, "conftest.py"), "w") as conftest:
        conftest.write(CONFTEST)
    return files


def run(folder, files, flavour, mode, selection, verbose):
    report = os.path.join(folder, "report-{}.xml".format(mode))
    argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--junitxml", report,
            "-k", selection] + files
    print("== {} {}: {}".format(flavour, mode, " ".join(argv[3:])), flush=True)
    result = subprocess.run(argv, cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True,
                            env=environment(IDECONSOLE_SUITE_MODE=mode, IDECONSOLE_SUITE_FLAVOUR=flavour))
    lines = result.stdout.rstrip().splitlines()
    print("\n".join(lines if verbose else lines[-1:]), flush=True)
    return outcomes(report), result.stdout


def outcomes(report):
    """test id -> passed, failed, error or skipped."""
    found = {}
    if not os.path.exists(report):
        return found
    for case in ElementTree.parse(report).iter("testcase"):
        outcome = "passed"
        for child in case:
            if child.tag in ("failure", "error", "skipped"):
                outcome = child.tag.replace("failure", "failed")
        found["{}::{}".format(case.get("classname"), case.get("name"))] = outcome
    return found


def failure_text(output, test):
    """The short summary line pytest printed for `test`, if any."""
    name = test.rsplit("::", 1)[-1]
    for line in output.splitlines():
        if name in line and line.startswith(("FAILED", "ERROR")):
            return line
    return ""


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("trees", nargs="+", metavar="SOURCE_TREE")
    parser.add_argument("--modes", default=",".join(MODES), help="comma-separated, of " + ", ".join(MODES))
    parser.add_argument("-k", dest="selection", help="pytest -k expression instead of the default one")
    parser.add_argument("-v", "--verbose", action="store_true", help="show pytest's whole output")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folders")
    args = parser.parse_args()
    modes = [mode for mode in args.modes.split(",") if mode]
    if modes[0] != "stock":
        modes.insert(0, "stock")
    unknown = 0
    for tree in args.trees:
        flavour = flavour_of(tree)
        ours, theirs = tree_version(tree, flavour), installed_version(flavour)
        if ours != theirs:
            print("warning: {} is {} {}, the installed one is {}".format(tree, flavour, ours, theirs))
        folder = tempfile.mkdtemp(prefix="keras-suite-")
        try:
            files = prepare(tree, flavour, folder)
            results = {}
            outputs = {}
            for mode in modes:
                results[mode], outputs[mode] = run(folder, files, flavour, mode,
                                                   args.selection or SUITES[flavour][2], args.verbose)
            stock = results["stock"]
            print("\n{} {}: {} tests".format(flavour, theirs, len(stock)))
            for mode in modes[1:]:
                tests = sorted(set(stock) | set(results[mode]))
                differ = [test for test in tests if stock.get(test) != results[mode].get(test)]
                print("  {}: {} differ from stock".format(mode, len(differ)))
                for test in differ:
                    known = next((why for name, why in KNOWN.items() if name in test), None)
                    unknown += known is None
                    print("    {} (stock {}, {} {}){}".format(
                        test, stock.get(test), mode, results[mode].get(test),
                        "  known: " + known if known else ""))
                    if not known:
                        text = failure_text(outputs[mode], test)
                        if text:
                            print("      " + text[:300])
        finally:
            if args.keep:
                print("kept", folder)
            else:
                shutil.rmtree(folder, ignore_errors=True)
    sys.exit(1 if unknown else 0)


if __name__ == "__main__":
    main()
