"""Run a script (argv[1:]) with ideconsole.install() called first, as a script's own first lines
would: the tests' stand-in for a train.py that installs ideconsole itself."""
import runpy
import sys

import ideconsole

ideconsole.install()
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
