"""softmax_dqn: MADQN whose agents sample actions from a softmax over their Q-values."""
