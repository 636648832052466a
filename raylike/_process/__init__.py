"""The processes that run user code: their pool on a node, the zygote that forks them, and
what runs inside one (the task loop, actors, their environment and title). No ``distributed``."""
