"""The public API layer: what ``raylike``'s public modules are made of.

It runs in every process role (driver, Dask worker, task or actor process) and reaches the
cluster only through the process's backend (``runtime.backend()``, a ``runtime.Backend``); it
never imports ``distributed``. ``runtime`` is the composition root: ``init`` builds the driver's
backend from ``raylike._dask``.
"""
