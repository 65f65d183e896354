"""Model files in safe formats, folders replaced as a whole, and the manifests that seal them."""
