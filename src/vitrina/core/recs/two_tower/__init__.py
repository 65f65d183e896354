"""Two-tower retrieval: the network, its inputs, and the trained model."""
