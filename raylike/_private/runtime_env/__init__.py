"""Ray's ``ray._private.runtime_env`` package: only the module names its test conftest
imports. raylike's runtime environments live in ``raylike._api.runtime_env``."""
