"""``ray.core``: in Ray, its compiled core and generated protocol code. raylike speaks Dask's
protocol; ``core.generated`` holds only the enum values Ray's programs compare against."""
__all__: list[str] = []
