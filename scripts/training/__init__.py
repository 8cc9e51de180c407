"""Training: the resumable loop and its checkpoints, and the encoder export."""
