"""Training (needs torch): configuration, datasets, losses, checkpoints and the loop."""
