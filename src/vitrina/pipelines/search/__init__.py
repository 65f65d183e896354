"""``vitrina train search``: the search pipeline as ordered steps."""
