"""``vitrina train recs``: the recommendations pipeline as ordered steps."""
