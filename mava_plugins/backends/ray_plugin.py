"""The Ray backend: every node a Ray actor, on a local Ray instance or a cluster of machines."""
from mava_core.hookspecs import hookimpl


@hookimpl
def mava_register(registry):
    registry.add(
        "backend",
        "ray",
        "mava_plugins.backends.ray_backend:RayBackend",
        description="Ray actors placed by resource requests; a local Ray instance or a cluster (--ray-address)",
    )
