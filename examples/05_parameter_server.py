"""Seed part 3b: a parameter server as an actor.

The ``@ray.remote`` decorator turns the ``ParameterServer`` class into a service: one actor
holds the model's weights; worker tasks get the actor's handle, fetch the current weights,
compute a gradient on their own slice of the data and push it back. The model is a small
linear regression fitted by gradient descent on synthetic data, all in numpy.

Run: python examples/05_parameter_server.py
"""
import numpy as np

import raylike as ray

ray.init(num_cpus=4, include_dashboard=False)

# Synthetic data: y = X @ true_w + noise, split into one shard per worker.
rng = np.random.default_rng(0)
DIM, SAMPLES, WORKERS = 10, 2000, 4
true_w = rng.normal(size=DIM)
X = rng.normal(size=(SAMPLES, DIM))
y = X @ true_w + 0.1 * rng.normal(size=SAMPLES)
# ray.put each shard once; tasks are passed the (small) object IDs, not the arrays.
shards = [(ray.put(xs), ray.put(ys)) for xs, ys in zip(np.array_split(X, WORKERS),
                                                       np.array_split(y, WORKERS))]


def loss(w, xs, ys):
    return float(np.mean((xs @ w - ys) ** 2))


def gradient(w, xs, ys):
    return 2 * xs.T @ (xs @ w - ys) / len(ys)


@ray.remote
class ParameterServer:
    def __init__(self, dim, learning_rate):
        self.weights = np.zeros(dim)
        self.learning_rate = learning_rate

    def get_params(self):
        return self.weights

    def apply_gradients(self, *gradients):
        # One gradient-descent step with the mean of the pushed gradients.
        self.weights = self.weights - self.learning_rate * np.mean(gradients, axis=0)
        return self.weights


@ray.remote
def worker(ps, xs, ys):
    # xs, ys arrive as arrays: object IDs passed as arguments are resolved to their values.
    w = ray.get(ps.get_params.remote())  # fetch the current parameters from the server
    ray.get(ps.apply_gradients.remote(gradient(w, xs, ys)))  # push this shard's gradient
    return loss(w, xs, ys)


ps = ParameterServer.remote(DIM, learning_rate=0.02)
losses = []
for iteration in range(15):
    # All workers run in parallel, each on its own data shard, sharing one server.
    shard_losses = ray.get([worker.remote(ps, xs, ys) for xs, ys in shards])
    losses.append(float(np.mean(shard_losses)))
    print(f"iteration {iteration:2d}: loss {losses[-1]:.4f}")

final_w = ray.get(ps.get_params.remote())
print(f"final loss {loss(final_w, X, y):.4f}, "
      f"|w - true_w| = {np.linalg.norm(final_w - true_w):.4f}")
assert losses[-1] < losses[0] / 10, "the loss should go down"

ray.shutdown()
