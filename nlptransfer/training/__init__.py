"""Training: the processes and Accelerator, the one loop, training by strategy, training-state
checkpoints, metric tracking and the run folder."""
