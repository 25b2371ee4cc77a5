"""Exploration schedule components."""
from mava_core.hookspecs import hookimpl


@hookimpl
def mava_register(registry):
    module = "mava_plugins.exploration.schedules"
    registry.add("exploration", "linear_epsilon", f"{module}:LinearEpsilon", description="epsilon decays linearly to a floor")
    registry.add("exploration", "exponential_epsilon", f"{module}:ExponentialEpsilon", description="epsilon halves every half_life steps")
    registry.add("exploration", "constant_epsilon", f"{module}:ConstantEpsilon", description="fixed epsilon")
    registry.add(
        "exploration",
        "gaussian_noise",
        f"{module}:GaussianNoise",
        description="Gaussian action noise, sigma decays linearly (deterministic policies)",
    )
    registry.add(
        "exploration",
        "gumbel_noise",
        f"{module}:GumbelNoise",
        description="discrete actions sampled from the actor's softmax at a scheduled temperature (deterministic policies)",
    )
    registry.add(
        "exploration",
        "ornstein_uhlenbeck",
        f"{module}:OrnsteinUhlenbeckNoise",
        description="temporally correlated Ornstein-Uhlenbeck action noise, reset per episode (deterministic policies)",
    )
