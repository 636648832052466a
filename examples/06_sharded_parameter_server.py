"""Seed part 3c: sharding the parameters across several parameter servers.

When the parameters are large and there are many workers, one parameter server becomes the
bottleneck. The fix is to split the parameters across several parameter-server actors: each
worker fetches every shard, computes a gradient for the whole model, and pushes each piece of
it to the server that owns that piece. Same linear regression as 05, with 2 server shards.

Run: python examples/06_sharded_parameter_server.py
"""
import numpy as np

import raylike as ray

ray.init(num_cpus=4, include_dashboard=False)

rng = np.random.default_rng(1)
DIM, SAMPLES, WORKERS, PS_SHARDS = 20, 4000, 8, 2
true_w = rng.normal(size=DIM)
X = rng.normal(size=(SAMPLES, DIM))
y = X @ true_w + 0.1 * rng.normal(size=SAMPLES)
data = [(ray.put(xs), ray.put(ys)) for xs, ys in zip(np.array_split(X, WORKERS),
                                                     np.array_split(y, WORKERS))]


def loss(w, xs, ys):
    return float(np.mean((xs @ w - ys) ** 2))


@ray.remote
class ParameterServer:
    """Holds one slice of the weight vector."""

    def __init__(self, size, learning_rate):
        self.weights = np.zeros(size)
        self.learning_rate = learning_rate

    def get_params(self):
        return self.weights

    def update_params(self, gradient):
        self.weights = self.weights - self.learning_rate * gradient


# One server per slice of the parameters.
sizes = [len(part) for part in np.array_split(np.zeros(DIM), PS_SHARDS)]
servers = [ParameterServer.remote(size, learning_rate=0.01) for size in sizes]
print(f"{DIM} parameters split over {PS_SHARDS} servers: slices of {sizes}")


@ray.remote
def worker(servers, xs, ys, steps):
    for _ in range(steps):
        # Pull every shard (in parallel) and put the full weight vector together.
        parts = ray.get([s.get_params.remote() for s in servers])
        w = np.concatenate(parts)
        grad = 2 * xs.T @ (xs @ w - ys) / len(ys)
        # Cut the gradient like the weights and push each piece to the server that owns it.
        pieces = np.split(grad, np.cumsum([len(p) for p in parts])[:-1])
        ray.get([s.update_params.remote(g) for s, g in zip(servers, pieces)])
    return loss(w, xs, ys)


def current_loss():
    return loss(np.concatenate(ray.get([s.get_params.remote() for s in servers])), X, y)


losses = [current_loss()]
print(f"round  0: loss {losses[-1]:.4f}")
for round_ in range(1, 7):
    # Many workers at once, each taking a few steps against the shared, sharded parameters.
    ray.get([worker.remote(servers, xs, ys, steps=2) for xs, ys in data])
    losses.append(current_loss())
    print(f"round {round_:2d}: loss {losses[-1]:.4f}")

assert losses[-1] < losses[0] / 10, "the loss should go down"
ray.shutdown()
