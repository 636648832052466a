"""``ray.core.generated``: Ray's protocol buffer modules. raylike has no GCS protocol: the
modules here give the enums' values (real) and message classes that raise when used."""
__all__: list[str] = []
