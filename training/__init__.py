"""Training, evaluation and ONNX export of the turn scorer (torch, transformers, sklearn allowed)."""
