"""``vitrina drift``: the drift monitor as ordered steps."""
