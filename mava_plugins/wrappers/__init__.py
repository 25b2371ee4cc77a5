"""Environment wrappers that preprocess observations and rewards."""
