"""`from ideconsole.tqdm import tqdm, trange`: tqdm's bars presented by ideconsole (nested
bars as rows on a terminal, one line in PyCharm, complete lines in a log), without
`install()`. Everything else is tqdm's own.
"""
from tqdm import std as _std

from .tqdm_bars import TqdmMethods, stock_methods

__all__ = ["tqdm", "trange"]


class tqdm(TqdmMethods, _std.tqdm):  # noqa: N801 (tqdm's own name, as a drop-in)
    pass


for _name, _value in stock_methods(_std.tqdm).items():
    setattr(tqdm, _name, _value)


def trange(*args, **kwargs):
    """`tqdm(range(*args), **kwargs)`."""
    return tqdm(range(*args), **kwargs)
