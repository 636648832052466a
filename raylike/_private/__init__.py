"""Ray's ``ray._private``, reduced to what Ray's own test suite imports: ``test_utils`` and the
modules its fixtures need. Nothing here is public API, as in Ray."""
