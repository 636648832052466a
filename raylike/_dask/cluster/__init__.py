"""Starting Dask's scheduler and workers as raylike's cluster: the embedded cluster, test
clusters' nodes, the ``--preload`` that installs the plugins, the ``raylike`` command line."""
