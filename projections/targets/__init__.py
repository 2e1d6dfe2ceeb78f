"""Target rules: locks and the decomposition of a target across time and down the organisation."""
