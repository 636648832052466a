"""``ray.experimental.state.api``: the state API's old import path; the same functions as
``ray.util.state``."""
from raylike.util.state import *  # noqa: F403 (the same names, by design)
from raylike.util.state import __all__  # noqa: F401
