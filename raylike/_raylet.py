"""``ray._raylet``: where Ray's programs and tests import its core classes from by path.

Only the names Ray users reach there: the ref and generator classes (``ray.ObjectRefGenerator``
is ``ray._raylet.ObjectRefGenerator``, also named ``StreamingObjectRefGenerator``).
"""
from raylike._generators import DynamicObjectRefGenerator, ObjectRefGenerator
from raylike._objects import ObjectRef

StreamingObjectRefGenerator = ObjectRefGenerator
STREAMING_GENERATOR_RETURN = -2  # Ray's ``num_returns`` code of a streaming generator

__all__ = ["STREAMING_GENERATOR_RETURN", "DynamicObjectRefGenerator", "ObjectRef",
           "ObjectRefGenerator", "StreamingObjectRefGenerator"]
