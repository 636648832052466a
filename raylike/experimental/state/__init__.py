"""``ray.experimental.state``: the state API's old home; ``api`` re-exports
``ray.util.state``."""
__all__: list[str] = []
