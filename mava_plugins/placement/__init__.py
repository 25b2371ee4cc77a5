"""The ``placement`` plugin: the trainer on the GPU, everything else on the CPU (``run.device``)."""
