"""Speed and memory, side by side against a baseline in one run."""
