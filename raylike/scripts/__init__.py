"""Ray's ``ray.scripts`` package: the command line as click commands (``scripts``)."""
__all__: list[str] = []
