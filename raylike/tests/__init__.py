"""``ray.tests``: the helper modules Ray's own test files import from Ray's test package
(``client_test_utils``, ``conftest``). raylike ships them, small and its own, so that Ray's
test files import unchanged; raylike's own tests live outside the package (``tests/``)."""
__all__: list[str] = []
