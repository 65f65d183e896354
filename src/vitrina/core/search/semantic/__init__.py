"""The semantic branch: the MiniLM encoder, its fine-tuning and ONNX export, the HNSW index."""
