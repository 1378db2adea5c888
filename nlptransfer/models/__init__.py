"""Pretrained models: the architecture table, resolving and loading checkpoints, the task model
(backbone, pooling, head), batched inference, and the saved model folder."""
